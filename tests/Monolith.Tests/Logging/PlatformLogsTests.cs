using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Monolith.Tests.Support;

namespace Monolith.Tests.Logging;

/// <summary>GET /platform/logs: filters, keyset paging newest first, validation and the platform key.</summary>
[Trait("Category", Categories.Integration)]
public sealed class PlatformLogsTests(MonolithFixture fixture) : IntegrationTest(fixture)
{
    // Rows seeded on a day of their own in the future, so the host's own logging never mixes in.
    private static readonly DateTime Day = new(2031, 5, 20, 0, 0, 0, DateTimeKind.Utc);

    public override Task InitializeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Events_come_newest_first_in_pages_that_chain_without_gaps_or_repeats()
    {
        var (tenant, marker) = (MonolithFixture.UniqueIdentifier("logs"), PostgresLogSinkTests.Marker());
        var seeded = new List<Guid>();
        for (var i = 0; i < 7; i++)
        {
            seeded.Add(await LogTable.InsertAsync(Fixture.ConnectionString, Day.AddMinutes(i), tenant, marker));
        }

        // Two events in the same microsecond: the id breaks the tie.
        seeded.Add(await LogTable.InsertAsync(Fixture.ConnectionString, Day.AddMinutes(6), tenant, marker));

        var client = Fixture.Factory.PlatformClient();
        var seen = new List<Guid>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await client.GetFromJsonAsync<JsonElement>($"/platform/logs?tenant={tenant}&limit=3" + (cursor is null ? string.Empty : $"&cursor={cursor}"));
            seen.AddRange(page.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("id").GetGuid()));
            cursor = page.GetProperty("nextCursor").GetString();
            pages++;
        }
        while (cursor is not null);

        Assert.Equal(3, pages);
        Assert.Equal(seeded.Count, seen.Distinct().Count());
        Assert.Equal(seeded.ToHashSet(), seen.ToHashSet());
        var times = await TimesAsync(seen);
        Assert.Equal(times.OrderByDescending(t => t.Time).ThenByDescending(t => t.Id.ToString(), StringComparer.Ordinal).Select(t => t.Id), seen);
    }

    [Fact]
    public async Task Tenant_level_time_and_text_filters_narrow_the_list()
    {
        var (alpha, beta, marker) = (MonolithFixture.UniqueIdentifier("logs"), MonolithFixture.UniqueIdentifier("logs"), PostgresLogSinkTests.Marker());
        var info = await LogTable.InsertAsync(Fixture.ConnectionString, Day.AddHours(1), alpha, marker, "information");
        var warning = await LogTable.InsertAsync(Fixture.ConnectionString, Day.AddHours(2), alpha, marker, "warning");
        var error = await LogTable.InsertAsync(Fixture.ConnectionString, Day.AddHours(3), alpha, marker, "error");
        await LogTable.InsertAsync(Fixture.ConnectionString, Day.AddHours(2), beta, marker, "error");
        var client = Fixture.Factory.PlatformClient();

        Assert.Equal([error, warning, info], await IdsAsync(client, $"tenant={alpha}"));
        Assert.Equal([error, warning], await IdsAsync(client, $"tenant={alpha}&level=Warning"));
        Assert.Equal([warning], await IdsAsync(client, $"tenant={alpha}&from=2031-05-20T02:00:00Z&to=2031-05-20T03:00:00Z"));
        Assert.Equal([error, warning, info], await IdsAsync(client, $"tenant={alpha}&q={marker.ToUpperInvariant()}"));
        Assert.Empty(await IdsAsync(client, $"tenant={alpha}&q=100%25_not-there"));

        var item = (await client.GetFromJsonAsync<JsonElement>($"/platform/logs?tenant={alpha}&level=error")).GetProperty("items")[0];
        Assert.Equal(("error", alpha, $"Seeded {marker}", "Seeded {Marker}"),
            (item.GetProperty("level").GetString(), item.GetProperty("tenant").GetString(), item.GetProperty("message").GetString(), item.GetProperty("template").GetString()));
        Assert.Equal(marker, item.GetProperty("properties").GetProperty("Marker").GetString());
        Assert.Equal(Day.AddHours(3), item.GetProperty("time").GetDateTimeOffset().UtcDateTime);
    }

    [Theory]
    [InlineData("level=loud", "level")]
    [InlineData("tenant=Not_An_Identifier", "tenant")]
    [InlineData("from=yesterday", "from")]
    [InlineData("to=2031-13-01", "to")]
    [InlineData("from=2031-05-21T00:00:00Z&to=2031-05-20T00:00:00Z", "to")]
    [InlineData("limit=0", "limit")]
    [InlineData("limit=201", "limit")]
    [InlineData("cursor=not-a-cursor", "cursor")]
    public async Task A_bad_filter_value_is_400_naming_the_field(string query, string field)
    {
        var response = await Fixture.Factory.PlatformClient().GetAsync($"/platform/logs?{query}");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"errors should name {field}");
    }

    [Fact]
    public async Task A_q_longer_than_200_characters_is_400()
    {
        var response = await Fixture.Factory.PlatformClient().GetAsync($"/platform/logs?q={new string('x', 201)}");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Theory]
    [Trait("Category", Categories.Security)]
    [InlineData(null)]
    [InlineData("wrong-key-0123456789abcdef0123456789")]
    public async Task Without_the_platform_key_the_logs_are_401(string? key)
    {
        var client = Fixture.Factory.TenantClient(MonolithFixture.Alpha);
        if (key is not null)
        {
            client.DefaultRequestHeaders.Add("X-Platform-Key", key);
        }

        var response = await client.GetAsync("/platform/logs");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    private static async Task<List<Guid>> IdsAsync(HttpClient client, string query)
    {
        var page = await client.GetFromJsonAsync<JsonElement>($"/platform/logs?{query}");
        return page.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("id").GetGuid()).ToList();
    }

    private async Task<List<(Guid Id, DateTimeOffset Time)>> TimesAsync(IEnumerable<Guid> ids)
    {
        var rows = await LogTable.RowsAsync(Fixture.ConnectionString, "id = ANY(@ids)", ("ids", ids.ToArray()));
        return rows.Select(r => (r.Id, r.Time)).ToList();
    }
}
