using System.Globalization;
using System.Text.RegularExpressions;
using Monolith.Customers.ListCustomers;
using Monolith.Customers.ListProjects;
using Monolith.Customers.ListProjectWarehouses;
using Monolith.Customers.ListWarehouses;
using Monolith.Tests.Support;
using Npgsql;
using Xunit.Abstractions;

namespace Monolith.Tests.Customers;

/// <summary>
/// Every query the Customers API runs, planned by PostgreSQL over a few thousand rows: none reads a table
/// sequentially. The hand-written SQL is the endpoints' own (their builders), with representative values; what EF
/// writes (by id, exists, count, delete by id) is written here in the shape EF sends.
/// </summary>
[Trait("Category", Categories.Integration)]
public sealed class IndexUsageTests(MonolithFixture fixture, ITestOutputHelper output) : CustomersTest(fixture)
{
    [Fact]
    public async Task Every_query_the_customers_api_runs_is_served_by_an_index()
    {
        await using var connection = await SuperuserAsync();
        // Bulk rows without triggers (the audit trail would make this slow), then statistics as in production.
        await ExecuteAsync(connection,
            """
            SET session_replication_role = replica;
            WITH c AS (INSERT INTO customers (id, name, email, status, created_at)
                       SELECT monolith.uuid_v7(), 'Customer ' || md5(i::text), 'c' || i || '@plan.test', CASE WHEN i % 5 = 0 THEN 'inactive' ELSE 'active' END,
                              now() - make_interval(secs => i)
                       FROM generate_series(1, 50000) i RETURNING id),
                 p AS (INSERT INTO projects (id, customer_id, name, code) SELECT monolith.uuid_v7(), id, 'Main', 'MAIN' FROM c RETURNING id, customer_id),
                 w AS (INSERT INTO warehouses (id, customer_id, name, address, country, capacity) SELECT monolith.uuid_v7(), customer_id, 'W', 'Street 1', 'DE', 10 FROM p RETURNING id, customer_id)
            INSERT INTO project_warehouses (project_id, warehouse_id, customer_id)
            SELECT p.id, w.id, p.customer_id FROM p JOIN w USING (customer_id);
            INSERT INTO idempotency_keys (scope, key, fingerprint, status_code, body)
            SELECT 'user:' || (i % 500), 'key-' || i, '\x00', 201, '\x00' FROM generate_series(1, 20000) i;
            SET session_replication_role = origin;
            """);
        foreach (var table in new[] { "customers", "projects", "warehouses", "project_warehouses", "idempotency_keys" })
        {
            await ExecuteAsync(connection, $"VACUUM ANALYZE {table}");
        }

        var trigram = await ScalarAsync<long>("SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'") == 1;
        var customer = await ScalarAsync<Guid>("SELECT id FROM customers ORDER BY id LIMIT 1 OFFSET 2500");
        var project = await ScalarAsync<Guid>("SELECT id FROM projects WHERE customer_id = $1", Alpha, customer);
        var warehouse = await ScalarAsync<Guid>("SELECT id FROM warehouses WHERE customer_id = $1", Alpha, customer);
        var now = DateTime.UtcNow;

        var queries = new List<(string Name, string Sql, object[] Args)>();
        foreach (var sort in ListCustomersQuery.Sorts)
        {
            foreach (var status in new[] { null, "inactive" })
            {
                var byName = sort.EndsWith("name", StringComparison.Ordinal);
                var after = new CustomerCursor(sort, status, null, byName ? "Customer 8" : null, byName ? null : now.AddSeconds(-2500), customer);
                foreach (var cursor in new[] { null, after })
                {
                    var (sql, args) = Positional(new ListCustomersQuery(sort, status, null, cursor, 50).ToSql());
                    queries.Add(($"GET /customers?sort={sort}{(status is null ? "" : "&status=" + status)}{(cursor is null ? "" : "&cursor")}", sql, args));
                }
            }
        }

        var (search, searchArgs) = Positional(new ListCustomersQuery("name", null, "c4242@", null, 50).ToSql());
        queries.Add(("GET /customers?q=c4242@&sort=name", search, searchArgs));
        queries.Add(("GET /customers/{id}", "SELECT c.*, c.xmin FROM customers AS c WHERE c.id = $1 LIMIT 1", [customer]));
        queries.Add(("e-mail uniqueness", "SELECT 1 FROM customers WHERE lower(email) = lower($1)", ["c42@plan.test"]));
        Add("GET /customers/{id}/projects", ListProjectsEndpoint.Sql(customer, 51, null));
        Add("GET /customers/{id}/projects&cursor", ListProjectsEndpoint.Sql(customer, 51, project));
        Add("GET /customers/{id}/warehouses", ListWarehousesEndpoint.Sql(customer, 51, warehouse));
        queries.Add(("GET /projects/{id}", "SELECT p.*, p.xmin FROM projects AS p WHERE p.id = $1 LIMIT 1", [project]));
        queries.Add(("DELETE /projects/{id}: count of the customer's projects", "SELECT count(*) FROM projects WHERE customer_id = $1", [customer]));
        queries.Add(("DELETE /customers/{id}: its projects", "SELECT id FROM projects WHERE customer_id = $1 ORDER BY id", [customer]));
        queries.Add(("cascade to warehouses", "SELECT 1 FROM warehouses WHERE customer_id = $1", [customer]));
        queries.Add(("cascade to assignments by project", "SELECT 1 FROM project_warehouses WHERE customer_id = $1 AND project_id = $2", [customer, project]));
        queries.Add(("cascade to assignments by warehouse", "SELECT 1 FROM project_warehouses WHERE customer_id = $1 AND warehouse_id = $2", [customer, warehouse]));
        Add("GET /projects/{id}/warehouses", ListProjectWarehousesEndpoint.Sql(project, 51, Guid.Empty));
        queries.Add(("GET /warehouses/{id}", "SELECT w.*, w.xmin FROM warehouses AS w WHERE w.id = $1 LIMIT 1", [warehouse]));
        queries.Add(("Idempotency-Key lookup", "SELECT body FROM idempotency_keys WHERE scope = $1 AND key = $2", ["user:x", "k"]));

        void Add(string name, FormattableString sql)
        {
            var (text, args) = Positional(sql);
            queries.Add((name, text, args));
        }

        var failures = new List<string>();
        foreach (var (name, sql, args) in queries)
        {
            await using var explain = new NpgsqlCommand("EXPLAIN (COSTS OFF) " + sql, connection);
            foreach (var arg in args)
            {
                explain.Parameters.Add(new NpgsqlParameter { Value = arg });
            }

            var lines = new List<string>();
            await using (var reader = await explain.ExecuteReaderAsync())
            {
                while (await reader.ReadAsync())
                {
                    lines.Add(reader.GetString(0));
                }
            }

            var plan = string.Join('\n', lines);
            output.WriteLine($"-- {name}\n{plan}\n");
            if (plan.Contains("Seq Scan", StringComparison.Ordinal))
            {
                failures.Add(name);
            }
        }

        Assert.Empty(failures);

        // The planner may walk the order index for q (it stops after a page); the trigram indexes must be able to
        // serve the predicate itself: with plain index scans and sequential scans off, both are used.
        if (trigram)
        {
            await ExecuteAsync(connection, "SET enable_seqscan = off; SET enable_indexscan = off");
            await using var explain = new NpgsqlCommand("EXPLAIN (COSTS OFF) " + search, connection);
            foreach (var arg in searchArgs)
            {
                explain.Parameters.Add(new NpgsqlParameter { Value = arg });
            }

            var plan = new List<string>();
            await using (var reader = await explain.ExecuteReaderAsync())
            {
                while (await reader.ReadAsync())
                {
                    plan.Add(reader.GetString(0));
                }
            }

            output.WriteLine("-- q, bitmap only\n" + string.Join('\n', plan));
            Assert.Contains(plan, line => line.Contains("Bitmap Index Scan on customers_name_trgm", StringComparison.Ordinal));
            Assert.Contains(plan, line => line.Contains("Bitmap Index Scan on customers_email_trgm", StringComparison.Ordinal));
        }
    }

    /// <summary>EF's FromSql form ({0}, {1}) as the positional parameters EXPLAIN takes ($1, $2).</summary>
    private static (string Sql, object[] Args) Positional(FormattableString sql) =>
        (Regex.Replace(sql.Format, @"\{(\d+)\}", m => "$" + (int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) + 1).ToString(CultureInfo.InvariantCulture)),
         [.. sql.GetArguments().Select(a => a!)]);

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
