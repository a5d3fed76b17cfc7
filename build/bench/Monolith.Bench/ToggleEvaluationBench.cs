using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Monolith.Tenancy;
using Monolith.Tenancy.Contracts;
using Monolith.Toggles;
using Monolith.Toggles.Contracts;

namespace Monolith.Bench;

/// <summary>
/// Cached evaluation through <see cref="IFeatureToggles"/> (the in-process API other modules call): tenant-wide and
/// for a project (its overrides cached too). The cache is filled from the bench database once in the set-up; the
/// measured calls never touch the database. Short in-process job so the run takes a couple of minutes.
/// </summary>
[MemoryDiagnoser]
public class ToggleEvaluationBench
{
    public const string Key = "bench-flag";

    private ServiceProvider services = null!;
    private IFeatureToggles toggles = null!;
    private IDisposable tenantScope = null!;
    private Guid project;

    public static int Run(string connectionString, string tenant, Guid projectId)
    {
        Environment.SetEnvironmentVariable("MONOLITH_BENCH_DB", connectionString);
        Environment.SetEnvironmentVariable("MONOLITH_BENCH_TENANT", tenant);
        Environment.SetEnvironmentVariable("MONOLITH_BENCH_PROJECT", projectId.ToString());
        var config = ManualConfig.CreateMinimumViable()
            .AddJob(Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance))
            .WithArtifactsPath(Path.Combine(Path.GetTempPath(), "monolith-bench-artifacts"))
            .WithOptions(ConfigOptions.DisableLogFile);
        var summary = BenchmarkRunner.Run<ToggleEvaluationBench>(config);
        return summary.HasCriticalValidationErrors || summary.Reports.Any(r => !r.Success) ? 1 : 0;
    }

    [GlobalSetup]
    public void Setup()
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection([new("ConnectionStrings:Monolith", Environment.GetEnvironmentVariable("MONOLITH_BENCH_DB"))]);
        builder.Services.AddLogging().AddTenancyCore(builder.Configuration);
        builder.AddToggles();
        services = builder.Services.BuildServiceProvider();
        toggles = services.GetRequiredService<IFeatureToggles>();
        var directory = services.GetRequiredService<ITenantDirectory>();
        var tenant = directory.FindAsync(Environment.GetEnvironmentVariable("MONOLITH_BENCH_TENANT")!, CancellationToken.None).AsTask().GetAwaiter().GetResult()
                     ?? throw new InvalidOperationException("the bench tenant does not exist");
        project = Guid.Parse(Environment.GetEnvironmentVariable("MONOLITH_BENCH_PROJECT")!);
        tenantScope = services.GetRequiredService<TenantContext>().Enter(tenant);
        // Fill the cache (tenant state and the project's overrides), and make sure the measured path is the real one.
        foreach (var projectId in new Guid?[] { null, project })
        {
            var evaluation = toggles.EvaluateAsync(Key, projectId).AsTask().GetAwaiter().GetResult();
            if (evaluation.Reason is not ToggleReason.Default)
            {
                throw new InvalidOperationException($"expected the defined toggle to evaluate by its definition, got {evaluation.Reason}");
            }
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        tenantScope.Dispose();
        services.Dispose();
    }

    [Benchmark(Baseline = true)]
    public bool TenantWide() => Evaluate(null);

    [Benchmark]
    public bool ForProject() => Evaluate(project);

    private bool Evaluate(Guid? projectId)
    {
        var pending = toggles.EvaluateAsync(Key, projectId);
        var evaluation = pending.IsCompletedSuccessfully ? pending.Result : pending.AsTask().GetAwaiter().GetResult();
        return evaluation.Reason == ToggleReason.Default ? evaluation.Enabled : throw new InvalidOperationException($"evaluation left the cache: {evaluation.Reason}");
    }
}
