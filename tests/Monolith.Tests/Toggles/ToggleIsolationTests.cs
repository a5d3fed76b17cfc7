using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Monolith.Tests.Support;

namespace Monolith.Tests.Toggles;

/// <summary>Another tenant's projects and toggles are out of reach, answered exactly like ids that never existed.</summary>
[Trait("Category", Categories.Security)]
public sealed class ToggleIsolationTests(MonolithFixture fixture) : IntegrationTest(fixture)
{
    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        Fixture.Factory.ClearToggleCache();
    }

    [Fact]
    public async Task Another_tenants_project_is_404_on_every_project_toggle_endpoint_like_a_missing_one()
    {
        var alpha = Fixture.Factory.TenantClient(MonolithFixture.Alpha);
        await alpha.AuthorizeAsOwnerAsync(Fixture, MonolithFixture.Alpha);
        var beta = Fixture.Factory.TenantClient(MonolithFixture.Beta);
        await beta.AuthorizeAsOwnerAsync(Fixture, MonolithFixture.Beta);
        var (_, alphaProjects) = await ProjectToggleTests.CreateCustomerAsync(alpha, 1);
        await alpha.DefineAsync("reports", false);
        await beta.DefineAsync("reports", false);
        await alpha.PutAsJsonAsync($"/projects/{alphaProjects[0]}/features/reports", new { enabled = true });
        var missing = Guid.CreateVersion7();

        foreach (var project in new[] { alphaProjects[0], missing })
        {
            var responses = new[]
            {
                await beta.GetAsync($"/projects/{project}/features"),
                await beta.GetAsync($"/projects/{project}/features/reports"),
                await beta.PutAsJsonAsync($"/projects/{project}/features/reports", new { enabled = false }),
                await beta.DeleteAsync($"/projects/{project}/features/reports"),
            };
            foreach (var response in responses)
            {
                Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
                Assert.Equal("No project with that id.", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString());
            }
        }

        var stillThere = await alpha.GetFromJsonAsync<JsonElement>($"/projects/{alphaProjects[0]}/features/reports");
        Assert.Equal("override", stillThere.GetProperty("reason").GetString());
        Assert.True(stillThere.GetProperty("enabled").GetBoolean());
    }

    [Fact]
    public async Task A_project_id_evaluated_in_another_tenant_never_sees_this_tenants_override()
    {
        var alpha = Fixture.Factory.TenantClient(MonolithFixture.Alpha);
        await alpha.AuthorizeAsOwnerAsync(Fixture, MonolithFixture.Alpha);
        var (_, projects) = await ProjectToggleTests.CreateCustomerAsync(alpha, 1);
        await alpha.DefineAsync("reports", false);
        await alpha.PutAsJsonAsync($"/projects/{projects[0]}/features/reports", new { enabled = true });

        Assert.True((await Fixture.Factory.EvaluateAsync(MonolithFixture.Alpha, "reports", projects[0])).Enabled);
        var inBeta = await Fixture.Factory.EvaluateAsync(MonolithFixture.Beta, "reports", projects[0]);
        Assert.False(inBeta.Enabled);
        Assert.Equal(Monolith.Toggles.Contracts.ToggleReason.Undefined, inBeta.Reason);
    }
}
