# Local development and tests. The logic lives in scripts/; see scripts/lib/env.sh for ports and
# environment (DYNAMODB_PORT, MOTO_PORT, WATCH_PORT, REVOKE_WATCH_PORT, PLATFORM_STUB_PORT,
# PLAYGROUND_PORT).
SHELL := bash

.PHONY: dev test mutants lint fmt bootstrap services-up services-down services-status seed marker contract browser-test docs docs-screenshot bench bench-revoker soak build api-key-entry api-keys

dev:            ## services + seed + cargo lambda watch on 127.0.0.1:$WATCH_PORT (the template's routes), the stream -> revoke-tokens -> platform stub, and the API playground on 127.0.0.1:$PLAYGROUND_PORT
	bash scripts/run.sh dev

test:           ## the release build beside the tools and services; make lint, cfn-lint, checkov, openapi lint, doc links, scripts tests; cargo test, contract test, browser test
	bash scripts/run.sh test

mutants:        ## mutation testing (cargo-mutants) of platform-revoke, integrations-table, the revoker's plan and the root's pure modules; fails on any missed mutant (PART=root for one)
	bash scripts/run.sh mutants $(PART)

bench:          ## cold start, warm latency and memory of the release binary, the key check by key count, the key store at 100,000 keys (starts services itself)
	bash scripts/run.sh bench $(ARGS)

bench-revoker:  ## the release revoker at burst scale on one shard: records/s, time to drain, outcomes (ARGS="--records 10000 --latency-ms 150 --rate-429 google=0.1 --parallelization 1")
	bash scripts/run.sh bench-revoker $(ARGS)

soak:           ## 2,000 deletes at concurrency 32 through 4 release-binary instances; fails on any 5xx, orphan or changed neighbour
	bash scripts/run.sh soak

build:          ## the deployable arm64 artefact .aws-sam/build/ (sam validate --lint, sam build, cargo lambda + zig, no Docker)
	bash scripts/build.sh

# The release profile, as make test builds: clippy then reuses the build's proc-macros and build
# scripts in target/release (about 40 s after make test's build, here).
lint:           ## rustfmt check + clippy with warnings as errors, on every target and feature (make test runs it)
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --all-features --locked --release -- -D warnings

fmt:
	cargo fmt --all

bootstrap:      ## install the local tools into .tools/
	bash scripts/bootstrap.sh

services-up: bootstrap
	bash scripts/services.sh start

services-down:
	bash scripts/services.sh stop

services-status:
	bash scripts/services.sh status

seed:           ## (re)create table, secrets and demo items; services must be up
	source scripts/lib/env.sh && "$$VENV_PY" scripts/seed.py

marker:         ## make marker ID=int_yt_abc123: the local disconnect marker, with its revocation outcomes
	@source scripts/lib/env.sh && "$$VENV_PY" scripts/show-marker.py "$(ID)"

contract:       ## schemathesis against openapi.yaml through cargo lambda watch; services up and seeded
	bash scripts/contract-test.sh

browser-test:   ## the API playground in headless Chromium, through to DynamoDB Local; services up and seeded
	bash scripts/browser-test.sh

# The API playground as a static folder to host anywhere; API_URL: the API it calls (default:
# the origin that serves the page). See docs/api.md and docs/deploy.md.
docs: bootstrap ## make docs [API_URL=https://...]: the API playground, built into .local/docs-site
	source scripts/lib/env.sh && "$$VENV_PY" scripts/build-playground.py --out .local/docs-site $(if $(API_URL),--api-url "$(API_URL)")

docs-screenshot: ## the playground's picture docs/img/playground.png, made again by the browser test (starts services itself)
	bash scripts/run.sh docs-screenshot

# The hash entry of an API key for the API-keys secret; the key is typed (no echo), piped
# on stdin, or made with GENERATE=1 and shown once. MERGE=FILE prints the whole secret.
api-key-entry:  ## make api-key-entry ACCOUNT=acct_123 NAME=CI [GENERATE=1] [SCOPES=integrations:delete] [MERGE=secret.json]
	@python3 scripts/api-key-entry.py --account "$(ACCOUNT)" --name "$(NAME)" $(if $(GENERATE),--generate) $(if $(SCOPES),--scope "$(SCOPES)") $(if $(MERGE),--merge "$(MERGE)")

# API keys spread over Secrets Manager secrets ("units"): init, add, disable, enable, remove,
# list, migrate, verify (scripts/api-keys.py). Like every target, it talks to the local stand-in
# (scripts/lib/env.sh: moto on 127.0.0.1:$MOTO_PORT); AWS=1 takes the calling shell's AWS setup
# instead (profile, region, credentials), with only the venv's python from env.sh.
api-keys:       ## make api-keys ACTION=add PREFIX=p UNITS=320 ACCOUNT=acct_123 NAME=CI [GENERATE=1] [SCOPES=...] [SHA256=...] [FROM_PREFIX=... FROM_UNITS=...] [PREVIOUS_PREFIX=... PREVIOUS_UNITS=...] [KMS_KEY_ID=...] [TAGS="k=v ..."] [AWS=1]
	@$(if $(AWS),py="$$(source scripts/lib/env.sh && echo "$$VENV_PY")",source scripts/lib/env.sh && py="$$VENV_PY") && \
	"$$py" scripts/api-keys.py "$(ACTION)" --prefix "$(PREFIX)" --units "$(UNITS)" \
	  $(if $(ACCOUNT),--account "$(ACCOUNT)") $(if $(NAME),--name "$(NAME)") $(if $(GENERATE),--generate) \
	  $(if $(SCOPES),--scope "$(SCOPES)") $(if $(SHA256),--sha256 "$(SHA256)") \
	  $(if $(FROM_PREFIX),--from-prefix "$(FROM_PREFIX)") $(if $(FROM_UNITS),--from-units "$(FROM_UNITS)") \
	  $(if $(PREVIOUS_PREFIX),--previous-prefix "$(PREVIOUS_PREFIX)") $(if $(PREVIOUS_UNITS),--previous-units "$(PREVIOUS_UNITS)") \
	  $(if $(KMS_KEY_ID),--kms-key-id "$(KMS_KEY_ID)") $(foreach tag,$(TAGS),--tag "$(tag)")
