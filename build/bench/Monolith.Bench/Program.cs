using Monolith.Bench.Endpoints;

namespace Monolith.Bench;

/// <summary>
/// The bench's entry point. A class rather than top-level statements: the global <c>Program</c> is the shipped
/// host's, which <c>host</c> runs through <see cref="BenchHost"/>.
/// </summary>
internal static class BenchProgram
{
    public static async Task<int> Main(string[] args) => args switch
    {
        ["host", "--urls", var url] => await BenchHost.RunAsync(url),
        ["provision", var url, var key, var count, var parallel] => await ProvisioningBench.RunAsync(new Uri(url), key, int.Parse(count), int.Parse(parallel)),
        ["provision-ab", var urls, var key, var count, var parallel, var rounds] =>
            await ProvisioningBench.CompareAsync([.. urls.Split(',').Select(u => new Uri(u))], key, int.Parse(count), int.Parse(parallel), int.Parse(rounds)),
        ["migrate", var connectionString, var parallel] => await MigrationBench.RunAsync(connectionString, int.Parse(parallel)),
        ["migrate-ab", var connectionString, var parallel, var rounds] => await MigrationBench.CompareAsync(connectionString, int.Parse(parallel), int.Parse(rounds)),
        ["provision-phases", var connectionString, var count] => await ProvisioningPhasesBench.RunAsync(connectionString, int.Parse(count)),
        ["hash-cost", var count] => HttpBench.HashCost(int.Parse(count)),
        ["login", var url, var tenant, var email, var count] => await HttpBench.LoginAsync(new Uri(url), tenant, email, int.Parse(count)),
        ["login-load", var url, var tenant, var email, var seconds, var concurrency, var sampleDb, var role, var probeToken] =>
            await IdentityBench.LoginLoadAsync(new Uri(url), tenant, email, int.Parse(seconds), int.Parse(concurrency), sampleDb, role, probeToken),
        ["tenants", var url, var key, var prefix, var count, var customers, var parallel, var output] =>
            await HttpBench.TenantsAsync(new Uri(url), key, prefix, int.Parse(count), int.Parse(customers), int.Parse(parallel), output),
        ["customers", var url, var tenant, var email, var count] => await HttpBench.CustomersAsync(new Uri(url), tenant, email, int.Parse(count)),
        ["post-rate", var url, var tenant, var token, var rate, var seconds] =>
            await HttpBench.PostRateAsync(new Uri(url), tenant, token, int.Parse(rate), int.Parse(seconds)),
        ["logsink", var connectionString, var events] => await LogSinkBench.RunAsync(connectionString, int.Parse(events)),
        ["audit-writer", var url, var tenant, var token, var seconds, var output, var concurrency] =>
            await AuditWriterBench.RunAsync(new Uri(url), tenant, token, int.Parse(seconds), output, int.Parse(concurrency)),
        ["backend-cpu", var connectionString, var block, var blocks, .. var targets] when targets.Length > 0 =>
            await BackendCpuBench.RunAsync(connectionString, targets, int.Parse(block), int.Parse(blocks)),
        ["backend-memory", var connectionString, var ownerConnectionString, var count, var parallel] =>
            await BackendMemoryBench.RunAsync(connectionString, ownerConnectionString, int.Parse(count), int.Parse(parallel)),
        ["toggles", var connectionString, var tenant, var project] => ToggleEvaluationBench.Run(connectionString, tenant, Guid.Parse(project)),
        ["mail", var app, var owner, var mails, var tenants, var latencyMails] =>
            await MailBench.RunAsync(app, owner, int.Parse(mails), int.Parse(tenants), int.Parse(latencyMails)),
        ["ef-model"] => EfModelBench.Run(),
        _ => Usage(),
    };

    private static int Usage()
    {
        Console.Error.WriteLine("usage: Monolith.Bench host --urls URL | provision URL PLATFORM_KEY COUNT PARALLEL | provision-ab URL,URL,... PLATFORM_KEY COUNT PARALLEL ROUNDS | migrate CONNECTION_STRING PARALLEL | migrate-ab CONNECTION_STRING PARALLEL ROUNDS" +
            " | login-load URL TENANT EMAIL SECONDS CONCURRENCY SAMPLE_CONNECTION_STRING ROLE PROBE_TOKEN | backend-cpu CONNECTION_STRING BLOCK BLOCKS LABEL=SCHEMA... | backend-memory SUPERUSER_CONNECTION_STRING OWNER_CONNECTION_STRING COUNT PARALLEL | logsink CONNECTION_STRING EVENTS | audit-writer URL TENANT TOKEN SECONDS OUT CONCURRENCY | toggles CONNECTION_STRING TENANT PROJECT_ID | mail APP OWNER MAILS TENANTS LATENCY_MAILS | ef-model");
        return 2;
    }
}
