using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Monolith.Tests.Support;
using Monolith.Toggles.Evaluation;
using Npgsql;

namespace Monolith.Tests.Toggles;

/// <summary>The stale-toggle report: <c>GET /features?staleForDays=N</c> lists toggles neither evaluated nor changed for N days.</summary>
[Trait("Category", Categories.Integration)]
public sealed class StaleToggleReportTests(MonolithFixture fixture) : IntegrationTest(fixture)
{
    private const string Alpha = MonolithFixture.Alpha;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        Fixture.Factory.ClearToggleCache();
    }

    [Fact]
    public async Task Toggles_neither_evaluated_nor_changed_for_n_days_are_reported_and_the_others_are_not()
    {
        var admin = await Fixture.ClientAsAsync(Alpha, "admin");
        foreach (var key in new[] { "old-unused", "old-used", "old-used-long-ago", "recent" })
        {
            await admin.DefineAsync(key, true);
        }

        await Fixture.Factory.EvaluateAsync(Alpha, "old-used", Guid.CreateVersion7());
        await Fixture.Service<ToggleUsageFlusher>().FlushAsync(CancellationToken.None);
        await ExecuteAsync(
            """
            SET session_replication_role = replica;
            UPDATE alpha.feature_toggles SET created_at = now() - interval '90 days', updated_at = now() - interval '90 days' WHERE key LIKE 'old-%';
            INSERT INTO alpha.feature_toggle_usage (key, last_evaluated_at) VALUES ('old-used-long-ago', now() - interval '45 days');
            RESET session_replication_role;
            """);

        var report = await admin.GetFromJsonAsync<JsonElement>("/features?staleForDays=30");

        var items = report.GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(["old-unused", "old-used-long-ago"], items.Select(i => i.GetProperty("key").GetString()));
        Assert.Equal(JsonValueKind.Null, items[0].GetProperty("lastEvaluatedAt").ValueKind);
        var all = await admin.GetFromJsonAsync<JsonElement>("/features");
        var used = all.GetProperty("items").EnumerateArray().Single(i => i.GetProperty("key").GetString() == "old-used");
        Assert.NotEqual(JsonValueKind.Null, used.GetProperty("lastEvaluatedAt").ValueKind);
        var longer = await admin.GetFromJsonAsync<JsonElement>("/features?staleForDays=60");
        Assert.Equal(["old-unused"], longer.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("key").GetString()));
    }

    [Theory]
    [InlineData("0")]
    [InlineData("3651")]
    [InlineData("thirty")]
    [InlineData("-5")]
    public async Task A_bad_stale_filter_is_400_naming_it(string days)
    {
        var viewer = await Fixture.ClientAsAsync(Alpha, "viewer");

        var response = await viewer.GetAsync($"/features?staleForDays={days}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty("staleForDays", out _));
    }

    private async Task ExecuteAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(Fixture.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
