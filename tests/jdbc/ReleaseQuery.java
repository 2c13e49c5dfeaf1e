// A JDBC client as DBeaver or Power BI's JDBC bridge would be one: DriverManager with a URL and the
// reader's login, DatabaseMetaData for the tables and columns of a schema, then a query.
// Run as a single-file source program (Java 11+), with PostgreSQL's JDBC driver on the class path:
//   DFT_JDBC_PASSWORD=... java -cp /usr/share/java/postgresql.jar tests/jdbc/ReleaseQuery.java \
//       'jdbc:postgresql://host:5432/sozialplanung?currentSchema=release' leser release 'SELECT ...'
// Prints one JSON array per line: ["driver", ...], ["table", ...], ["column", ...], ["header", ...],
// ["row", ...]; tests/test_bi_clients.py reads them.

import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

public class ReleaseQuery {

    public static void main(String[] args) throws Exception {
        if (args.length != 4) {
            System.err.println("Aufruf: ReleaseQuery <jdbc-url> <benutzer> <schema> <sql>  (Passwort in DFT_JDBC_PASSWORD)");
            System.exit(2);
        }
        String url = args[0], user = args[1], schema = args[2], sql = args[3];
        Properties login = new Properties();
        login.setProperty("user", user);
        String password = System.getenv("DFT_JDBC_PASSWORD");
        if (password != null) {
            login.setProperty("password", password);
        }
        try (Connection con = DriverManager.getConnection(url, login)) {
            DatabaseMetaData meta = con.getMetaData();
            print("driver", meta.getDriverName(), meta.getDriverVersion(), meta.getDatabaseProductName(),
                  meta.getDatabaseProductVersion(), meta.getUserName());
            try (ResultSet tables = meta.getTables(null, schema, "%", new String[] {"TABLE", "VIEW"})) {
                while (tables.next()) {
                    print("table", tables.getString("TABLE_SCHEM"), tables.getString("TABLE_NAME"),
                          tables.getString("TABLE_TYPE"), tables.getString("REMARKS"));
                }
            }
            try (ResultSet columns = meta.getColumns(null, schema, "%", "%")) {
                while (columns.next()) {
                    print("column", columns.getString("TABLE_NAME"), columns.getString("COLUMN_NAME"),
                          columns.getString("TYPE_NAME"), columns.getInt("DATA_TYPE"), columns.getString("REMARKS"),
                          columns.getInt("ORDINAL_POSITION"));
                }
            }
            try (Statement statement = con.createStatement(); ResultSet rows = statement.executeQuery(sql)) {
                ResultSetMetaData shape = rows.getMetaData();
                List<Object> header = new ArrayList<>();
                header.add("header");
                for (int i = 1; i <= shape.getColumnCount(); i++) {
                    header.add(shape.getColumnLabel(i));
                }
                print(header.toArray());
                while (rows.next()) {
                    List<Object> row = new ArrayList<>();
                    row.add("row");
                    for (int i = 1; i <= shape.getColumnCount(); i++) {
                        row.add(rows.getObject(i));
                    }
                    print(row.toArray());
                }
            }
        }
    }

    private static void print(Object... values) {
        StringBuilder line = new StringBuilder("[");
        for (int i = 0; i < values.length; i++) {
            if (i > 0) {
                line.append(", ");
            }
            line.append(json(values[i]));
        }
        System.out.println(line.append(']'));
    }

    /** A JSON value: numbers and booleans as such, everything else (dates too) as its string. */
    private static String json(Object value) {
        if (value == null) {
            return "null";
        }
        if (value instanceof Boolean || value instanceof Integer || value instanceof Long || value instanceof Short) {
            return value.toString();
        }
        if (value instanceof Double || value instanceof Float) {
            double d = ((Number) value).doubleValue();
            if (Double.isNaN(d) || Double.isInfinite(d)) {
                return quoted(value.toString());
            }
            return Double.toString(d);
        }
        return quoted(value.toString());
    }

    private static String quoted(String text) {
        StringBuilder out = new StringBuilder("\"");
        for (char c : text.toCharArray()) {
            switch (c) {
                case '"': out.append("\\\""); break;
                case '\\': out.append("\\\\"); break;
                case '\n': out.append("\\n"); break;
                case '\r': out.append("\\r"); break;
                case '\t': out.append("\\t"); break;
                default:
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
            }
        }
        return out.append('"').toString();
    }
}
