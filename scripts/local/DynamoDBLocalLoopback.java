// Starts DynamoDB Local bound to 127.0.0.1 only.
//
// DynamoDBLocal.jar has no host option: its Jetty connector listens on every
// interface. This launcher builds the server exactly as the jar's own main()
// does (ServerRunner.createServerFromCommandLineArgs), sets the host of every
// Jetty connector to 127.0.0.1 before start, and refuses to start if it cannot.
// Compiled by scripts/bootstrap.sh against the pinned DynamoDBLocal.jar.
//
// Usage: java -cp "DynamoDBLocal.jar:DynamoDBLocal_lib/*:<this class dir>" \
//          -Djava.library.path=DynamoDBLocal_lib DynamoDBLocalLoopback -inMemory -sharedDb -port N
import java.lang.reflect.Field;

import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

public final class DynamoDBLocalLoopback {
    private static final String HOST = "127.0.0.1";

    public static void main(String[] args) throws Exception {
        DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
        if (proxy == null) {
            System.err.println("DynamoDBLocalLoopback: could not create the server from " + String.join(" ", args));
            System.exit(2);
        }

        Field field = DynamoDBProxyServer.class.getDeclaredField("server");
        field.setAccessible(true);
        Server jetty = (Server) field.get(proxy);

        Connector[] connectors = jetty.getConnectors();
        if (connectors.length == 0) {
            System.err.println("DynamoDBLocalLoopback: no Jetty connector found; refusing to start");
            System.exit(2);
        }
        for (Connector connector : connectors) {
            if (!(connector instanceof ServerConnector)) {
                System.err.println("DynamoDBLocalLoopback: unexpected connector " + connector + "; refusing to start");
                System.exit(2);
            }
            ((ServerConnector) connector).setHost(HOST);
        }

        proxy.start();
        for (Connector connector : jetty.getConnectors()) {
            ServerConnector sc = (ServerConnector) connector;
            System.out.println("DynamoDBLocalLoopback: listening on " + sc.getHost() + ":" + sc.getLocalPort());
        }
        proxy.join();
    }
}
