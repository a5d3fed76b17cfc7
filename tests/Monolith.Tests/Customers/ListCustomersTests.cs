using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Monolith.Tests.Support;
using Npgsql;

namespace Monolith.Tests.Customers;

[Trait("Category", Categories.Integration)]
public sealed class ListCustomersTests(MonolithFixture fixture) : CustomersTest(fixture)
{
    [Theory]
    [InlineData("name")]
    [InlineData("-name")]
    [InlineData("createdAt")]
    [InlineData("-createdAt")]
    public async Task Paging_walks_a_thousand_customers_with_no_duplicate_and_no_gap_while_rows_are_inserted(string sort)
    {
        var originals = await SeedAsync(1000);
        var client = await OwnerAsync();
        using var stop = new CancellationTokenSource();
        var inserted = 0;
        var writer = Task.Run(async () =>
        {
            await using var connection = await SuperuserAsync();
            while (!stop.IsCancellationRequested && inserted < 300)
            {
                // New names land anywhere in the name order; new rows are the newest in the creation order.
                await using var insert = new NpgsqlCommand(
                    """
                    WITH c AS (INSERT INTO customers (id, name, email)
                               VALUES (monolith.uuid_v7(), 'Customer ' || lpad((random() * 1000)::int::text, 4, '0') || 'x', 'late-' || gen_random_uuid() || '@paging.test')
                               RETURNING id)
                    INSERT INTO projects (id, customer_id, name) SELECT monolith.uuid_v7(), id, 'Main' FROM c
                    """, connection);
                await insert.ExecuteNonQueryAsync();
                Interlocked.Increment(ref inserted);
                await Task.Delay(2);
            }
        });

        while (Volatile.Read(ref inserted) == 0 && !writer.IsCompleted)
        {
            await Task.Delay(5);
        }

        var seen = new List<JsonElement>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await client.GetFromJsonAsync<JsonElement>($"/customers?sort={sort}&limit=37{(cursor is null ? "" : "&cursor=" + Uri.EscapeDataString(cursor))}");
            seen.AddRange(page.GetProperty("items").EnumerateArray());
            cursor = page.GetProperty("nextCursor").GetString();
            pages++;
        }
        while (cursor is not null && pages < 100);

        await stop.CancelAsync();
        await writer;

        var ids = seen.Select(c => c.GetProperty("id").GetGuid()).ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.Empty(originals.Except(ids));
        Assert.True(inserted > 0);
        var keys = seen.Select(c => (Key: sort.EndsWith("name", StringComparison.Ordinal) ? c.GetProperty("name").GetString()! : c.GetProperty("createdAt").GetString()!, Id: c.GetProperty("id").GetGuid())).ToList();
        var ordered = sort.EndsWith("name", StringComparison.Ordinal)
            ? keys.OrderBy(k => k.Key, StringComparer.Ordinal).ThenBy(k => k.Id.ToString())
            : keys.OrderBy(k => DateTime.Parse(k.Key, System.Globalization.CultureInfo.InvariantCulture)).ThenBy(k => k.Id.ToString());
        var expected = sort.StartsWith('-') ? ordered.Reverse().ToList() : ordered.ToList();
        Assert.Equal(expected.Select(k => k.Id), keys.Select(k => k.Id));
    }

    [Fact]
    public async Task Q_finds_name_or_email_containing_it_ignoring_case_and_matches_wildcards_literally()
    {
        var client = await OwnerAsync();
        await CreateCustomerAsync(client, CustomerBuilder.Customer(email: "hello@initech.example", name: "Initech"));
        await CreateCustomerAsync(client, CustomerBuilder.Customer(email: "ops@umbrella.example", name: "Umbrella INITECH partners"));
        await CreateCustomerAsync(client, CustomerBuilder.Customer(email: "contact@hooli.example", name: "Hooli 100% _real_"));

        Assert.Equal(2, await CountAsync(client, "/customers?q=iNiTeCh"));
        Assert.Equal(1, await CountAsync(client, "/customers?q=UMBRELLA.example"));
        Assert.Equal(1, await CountAsync(client, "/customers?q=100%25%20_"));
        Assert.Equal(0, await CountAsync(client, "/customers?q=%25%25"));
        Assert.Equal(1, await CountAsync(client, "/customers?q=_real_"));
        Assert.Equal(0, await CountAsync(client, "/customers?q=nobody"));
    }

    [Fact]
    public async Task Status_filters_and_sort_orders_the_list()
    {
        var client = await OwnerAsync();
        var b = (await CreateCustomerAsync(client, CustomerBuilder.Customer(name: "Bravo"))).GetProperty("id").GetGuid();
        await CreateCustomerAsync(client, CustomerBuilder.Customer(name: "Alpha"));
        await CreateCustomerAsync(client, CustomerBuilder.Customer(name: "Charlie"));
        Assert.Equal(HttpStatusCode.OK, (await client.PatchAsJsonAsync($"/customers/{b}", new { status = "inactive" })).StatusCode);

        Assert.Equal(["Alpha", "Bravo", "Charlie"], await NamesAsync(client, "/customers?sort=name"));
        Assert.Equal(["Charlie", "Bravo", "Alpha"], await NamesAsync(client, "/customers?sort=-name"));
        Assert.Equal(["Bravo", "Alpha", "Charlie"], await NamesAsync(client, "/customers?sort=createdAt"));
        Assert.Equal(["Charlie", "Alpha", "Bravo"], await NamesAsync(client, "/customers?sort=-createdAt"));
        Assert.Equal(["Alpha", "Charlie"], await NamesAsync(client, "/customers?status=active&sort=name"));
        Assert.Equal(["Bravo"], await NamesAsync(client, "/customers?status=inactive"));
    }

    [Theory]
    [InlineData("/customers?sort=email", "sort")]
    [InlineData("/customers?sort=NAME", "sort")]
    [InlineData("/customers?status=deleted", "status")]
    [InlineData("/customers?limit=0", "limit")]
    [InlineData("/customers?limit=201", "limit")]
    [InlineData("/customers?limit=ten", "limit")]
    [InlineData("/customers?cursor=not-a-cursor", "cursor")]
    [InlineData("/customers?stauts=active", "stauts")]
    public async Task An_unknown_filter_value_sort_or_parameter_is_400_naming_it(string path, string field)
    {
        var client = await OwnerAsync();
        var problem = await ProblemAsync(await client.GetAsync(path), HttpStatusCode.BadRequest);
        Assert.Equal([field], ErrorFields(problem));
    }

    [Fact]
    public async Task A_cursor_is_refused_for_another_sort_or_filter()
    {
        var client = await OwnerAsync();
        for (var i = 0; i < 3; i++)
        {
            await CreateCustomerAsync(client);
        }

        var page = await client.GetFromJsonAsync<JsonElement>("/customers?sort=name&limit=1");
        var cursor = Uri.EscapeDataString(page.GetProperty("nextCursor").GetString()!);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/customers?sort=name&limit=1&cursor={cursor}")).StatusCode);
        Assert.Equal(["cursor"], ErrorFields(await ProblemAsync(await client.GetAsync($"/customers?sort=-name&cursor={cursor}"), HttpStatusCode.BadRequest)));
        Assert.Equal(["cursor"], ErrorFields(await ProblemAsync(await client.GetAsync($"/customers?sort=name&q=acme&cursor={cursor}"), HttpStatusCode.BadRequest)));
    }

    [Fact]
    public async Task Limit_defaults_to_50_and_the_last_page_has_no_cursor()
    {
        var client = await OwnerAsync();
        await SeedAsync(60);
        var first = await client.GetFromJsonAsync<JsonElement>("/customers");
        Assert.Equal(50, first.GetProperty("items").GetArrayLength());
        var second = await client.GetFromJsonAsync<JsonElement>($"/customers?cursor={Uri.EscapeDataString(first.GetProperty("nextCursor").GetString()!)}");
        Assert.Equal(10, second.GetProperty("items").GetArrayLength());
        Assert.Equal(JsonValueKind.Null, second.GetProperty("nextCursor").ValueKind);
    }

    private async Task<List<Guid>> SeedAsync(int count)
    {
        await using var connection = await SuperuserAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using var command = new NpgsqlCommand(
            """
            WITH c AS (INSERT INTO customers (id, name, email, created_at)
                       SELECT monolith.uuid_v7(), 'Customer ' || lpad(i::text, 4, '0'), 'c' || i || '@paging.test', now() - make_interval(secs => $1 - i)
                       FROM generate_series(1, $1) i
                       RETURNING id)
            INSERT INTO projects (id, customer_id, name) SELECT monolith.uuid_v7(), id, 'Main' FROM c RETURNING customer_id
            """, connection, transaction);
        command.Parameters.Add(new NpgsqlParameter { Value = count });
        var ids = new List<Guid>();
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                ids.Add(reader.GetGuid(0));
            }
        }

        await transaction.CommitAsync();
        return ids;
    }

    private static async Task<int> CountAsync(HttpClient client, string path) =>
        (await client.GetFromJsonAsync<JsonElement>(path)).GetProperty("items").GetArrayLength();

    private static async Task<string[]> NamesAsync(HttpClient client, string path) =>
        (await client.GetFromJsonAsync<JsonElement>(path)).GetProperty("items").EnumerateArray().Select(c => c.GetProperty("name").GetString()!).ToArray();
}
