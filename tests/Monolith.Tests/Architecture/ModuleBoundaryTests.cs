using System.Reflection;
using System.Runtime.CompilerServices;
using Monolith.Access;
using Monolith.Auditing;
using Monolith.Customers;
using Monolith.SharedKernel.Context;
using Monolith.Tenancy;
using Monolith.Tests.Support;
using Monolith.Toggles;
using NetArchTest.Rules;

namespace Monolith.Tests.Architecture;

/// <summary>
/// What a module may see of another, and what it shows. The rules:
/// <list type="bullet">
/// <item>SharedKernel is open to every module: it is the shared conventions, not a module.</item>
/// <item>A feature module (Access, Customers, Auditing, Toggles) uses another feature module only through the types in
/// its <c>Monolith.Xxx.Contracts</c> namespace. Not its <c>XxxModule</c>: only the host (and the CLI) wire modules.</item>
/// <item>Tenancy is the platform the feature modules stand on. They may use its <c>Monolith.Tenancy.Contracts</c>
/// (the tenant directory, tenant settings, migration runs) and the Tenancy types named in <see cref="TenancyPlatform"/>,
/// each with its reason; any other Tenancy type (the catalog, sessions, provisioning,
/// migration, resolution strategies, ...) is Tenancy's own.</item>
/// <item>Tenancy and SharedKernel use no feature module at all.</item>
/// <item>A module's public types are its <c>XxxModule</c>, its options (<c>*Options</c>), the types in its
/// <c>Contracts</c> namespace, and the few named in <see cref="PublicToday"/>, each with its reason. Everything else is
/// internal (<c>InternalsVisibleTo</c> the tests).</item>
/// </list>
/// </summary>
[Trait("Category", Categories.Unit)]
public sealed class ModuleBoundaryTests
{
    private static readonly Assembly SharedKernel = typeof(Roles).Assembly;
    private static readonly Assembly Tenancy = typeof(TenancyModule).Assembly;

    private static readonly Dictionary<string, Assembly> FeatureModules = new()
    {
        ["Access"] = typeof(AccessModule).Assembly,
        ["Customers"] = typeof(CustomersModule).Assembly,
        ["Auditing"] = typeof(AuditingModule).Assembly,
        ["Toggles"] = typeof(TogglesModule).Assembly,
    };

    /// <summary>The Tenancy types a feature module may use, by full name, and why.</summary>
    private static readonly Dictionary<string, string> TenancyPlatform = new()
    {
        ["Monolith.Tenancy.TenantContext"] = "the current tenant of a request or a job; jobs and the owner setup enter one",
        ["Monolith.Tenancy.Catalog.TenantInfo"] = "what a module knows of a tenant (id, identifier, schema, status)",
        ["Monolith.Tenancy.Catalog.TenantStatus"] = "retention and jobs skip tenants that are not active",
        ["Monolith.Tenancy.TenantIdentifier"] = "schema names of tenants for jobs working behind the request path",
        ["Monolith.Tenancy.TenancyModule"] = "the connection string names (request and owner role) for the log sink (constants)",
        ["Monolith.Tenancy.TenancyOptions"] = "the tenant bounds the jobs apply to their own connections",
        ["Monolith.Tenancy.Isolation.TenantDatabase"] = "the only way into a tenant's schema (search_path + SET ROLE, one pool)",
        ["Monolith.Tenancy.Isolation.TenantConnection"] = "what TenantDatabase hands out",
        ["Monolith.Tenancy.Isolation.TenantDbContexts"] = "a module's EF Core context: registered pooled, opened on the tenant unit of work (docs/adr/0036)",
        ["Monolith.Tenancy.Isolation.TenantWork`1"] = "a module's context on one tenant unit of work (commit, dispose)",
        ["Monolith.Tenancy.Isolation.AsWritten"] = "reads SQL on a module's context as written",
        ["Monolith.Tenancy.Isolation.DatabaseErrors"] = "what the database refused (unique, foreign key), through EF or not",
        ["Monolith.Tenancy.Isolation.Timestamps"] = "times written through SaveChanges, cut to PostgreSQL's microseconds",
        ["Monolith.Tenancy.Idempotency.IdempotencyEndpointExtensions"] = "endpoints opt into Idempotency-Key",
        ["Monolith.Tenancy.Resolution.TenantEndpointExtensions"] = "endpoints declare RequireTenant()",
        ["Monolith.Tenancy.PlatformDatabase"] = "platform-schema work of the owner role: audit anchors, job runs, toggle usage",
        ["Monolith.Tenancy.Placement.TenantServers"] = "per-server work (listeners, due-work passes) visits each server of the placement map",
        ["Monolith.Tenancy.Platform.PlatformEndpointExtensions"] = "RequirePlatformKey() on those endpoints",
        ["Monolith.Tenancy.Notifications.IChangeSubscriber"] = "Access and Toggles drop cached entries on LISTEN/NOTIFY changes",
        ["Monolith.Tenancy.Notifications.StateVersions"] = "Access's and Toggles' cache polls read many tenants' state versions in one statement (docs/adr/0072)",
        ["Monolith.Tenancy.Provisioning.ITenantOwnerSetup"] = "Access creates a new tenant's owner for the provisioner",
        ["Monolith.Tenancy.Provisioning.TenantOwner"] = "the owner Access prepares (password hashed) before the provisioner takes its lock",
        ["Monolith.Tenancy.Jobs.IRecurringJobSchedule"] = "the home for jobs: a module registers its recurring Hangfire jobs without owning Hangfire's setup",
    };

    /// <summary>
    /// Public types that are none of XxxModule, options, contracts or the Tenancy platform surface, and must stay public
    /// today, by full name, and why. The rest of a module is internal. (The Tenancy platform surface is public because the
    /// feature modules reference Tenancy without InternalsVisibleTo.)
    /// </summary>
    private static readonly Dictionary<string, string> PublicToday = new()
    {
        // The host wires Serilog to the PostgreSQL log sink (AddPostgresLogging, WriteTo.Postgres, its stats); the bench
        // measures the sink itself (PostgresLogSink, LogRow, TextLogFallback).
        ["Monolith.Auditing.Logging.LoggingModule"] = "the host's logging registration (a second XxxModule of Auditing)",
        ["Monolith.Auditing.Logging.LogSinkStats"] = "the host passes it to WriteTo.Postgres",
        ["Monolith.Auditing.Logging.PostgresLogSink"] = "measured by the bench (no InternalsVisibleTo)",
        ["Monolith.Auditing.Logging.LogRow"] = "measured by the bench",
        ["Monolith.Auditing.Logging.ILogFallback"] = "in PostgresLogSink's public constructor",
        ["Monolith.Auditing.Logging.TextLogFallback"] = "used by the bench",
        // The CLI's `retention` command runs the runner and reports its result (the CLI has no InternalsVisibleTo on Auditing).
        ["Monolith.Auditing.Retention.RetentionRunner"] = "the CLI's retention command",
        ["Monolith.Auditing.Retention.RetentionRunResult"] = "what RetentionRunner returns",
        ["Monolith.Auditing.Retention.RetentionRunStatus"] = "in RetentionRunResult",
        ["Monolith.Auditing.Retention.RetentionOutcome"] = "in RetentionRunResult",
        ["Monolith.Auditing.Retention.RetentionSources"] = "the CLI names itself as the source of a run",
        ["Monolith.Auditing.Retention.IRetentionTask"] = "in RetentionRunner's public constructor",
        // Tenancy: in the public signatures of the platform surface, or used by the host and the bench.
        ["Monolith.Tenancy.Bounds.TenantBounds"] = "in TenantDatabase's public constructor",
        ["Monolith.Tenancy.Idempotency.TenantTransaction"] = "modules reach it through TenantWork; the bench's Npgsql twin of POST /customers begins one itself",
        ["Monolith.Tenancy.Idempotency.AmbientTransaction"] = "returned by TenantTransaction.Ambient",
        ["Monolith.Tenancy.Resolution.ITenantResolutionStrategy"] = "the host's request log asks the strategies which one resolved the tenant",
        ["Monolith.Tenancy.Resolution.TenantScopedAttribute"] = "the host's request log reads it from endpoint metadata",
        ["Monolith.Tenancy.Provisioning.TenantMigrator"] = "migrated by the bench (no InternalsVisibleTo)",
        ["Monolith.Tenancy.Provisioning.TenantMigrationProgress"] = "in TenantMigrator's public methods",
        ["Monolith.Tenancy.Provisioning.TenantMigrationState"] = "in TenantMigrationProgress; the bench counts by it",
        ["Monolith.Tenancy.Provisioning.TenantScripts"] = "the bench migrates with scripts of its own",
        ["Monolith.Tenancy.Platform.PlatformKeyGate"] = "the host puts /metrics (a middleware branch, where endpoint filters never run) behind the platform key",
    };

    public static TheoryData<string> ModuleNames => new(FeatureModules.Keys);

    [Theory]
    [MemberData(nameof(ModuleNames))]
    public void A_module_uses_another_only_through_its_contracts(string module)
    {
        var forbidden = FeatureModules
            .Where(other => other.Key != module)
            .SelectMany(other => TopLevelTypes(other.Value).Where(t => t.Namespace != $"Monolith.{other.Key}.Contracts"))
            .Concat(TopLevelTypes(Tenancy).Where(t => t.Namespace != "Monolith.Tenancy.Contracts" && !TenancyPlatform.ContainsKey(t.FullName!)))
            .Select(t => t.FullName!)
            .ToArray();
        Assert.NotEmpty(forbidden);

        var result = Types.InAssembly(FeatureModules[module]).ShouldNot().HaveDependencyOnAny(forbidden).GetResult();

        Assert.True(result.IsSuccessful, $"{module} reaches into another module: {string.Join(", ", result.FailingTypeNames ?? [])}");
    }

    [Fact]
    public void Tenancy_and_the_shared_kernel_use_no_feature_module()
    {
        var features = FeatureModules.Keys.Select(name => $"Monolith.{name}").ToArray();

        foreach (var assembly in new[] { Tenancy, SharedKernel })
        {
            var result = Types.InAssembly(assembly).ShouldNot().HaveDependencyOnAny(features).GetResult();
            Assert.True(result.IsSuccessful, $"{assembly.GetName().Name} uses a feature module: {string.Join(", ", result.FailingTypeNames ?? [])}");
        }

        var kernel = Types.InAssembly(SharedKernel).ShouldNot().HaveDependencyOn("Monolith.Tenancy").GetResult();
        Assert.True(kernel.IsSuccessful, $"SharedKernel uses Tenancy: {string.Join(", ", kernel.FailingTypeNames ?? [])}");
    }

    [Fact]
    public void The_dependency_rule_sees_the_contracts_that_are_used()
    {
        // Guards the rules above against passing for want of seeing anything: Toggles does use Customers' contracts
        // (IProjectLookup, ProjectsDeleted), and the feature modules do stand on Tenancy.
        Assert.NotEmpty(Types.InAssembly(FeatureModules["Toggles"]).That().HaveDependencyOn("Monolith.Customers.Contracts").GetTypes());
        Assert.NotEmpty(Types.InAssembly(FeatureModules["Customers"]).That().HaveDependencyOn("Monolith.Tenancy.Isolation.TenantDatabase").GetTypes());
    }

    [Fact]
    public void Every_allowed_platform_type_is_used_by_a_feature_module()
    {
        // Keeps the allow-list honest: a platform type nobody uses any more leaves it.
        // TenantStatus holds constants only, and Auditing uses only TenancyModule's constants, which the compiler copies
        // into the caller: no reference is left to see.
        var unused = TenancyPlatform.Keys
            .Where(name => name is not ("Monolith.Tenancy.Catalog.TenantStatus" or "Monolith.Tenancy.TenancyModule"))
            .Where(name => FeatureModules.Values.All(module => !Types.InAssembly(module).That().HaveDependencyOn(name).GetTypes().Any()))
            .ToList();

        Assert.True(unused.Count == 0, $"allowed but unused Tenancy types: {string.Join(", ", unused)}");
    }

    [Fact]
    public void A_module_makes_public_only_its_registration_options_and_contracts()
    {
        var modules = FeatureModules.Append(new KeyValuePair<string, Assembly>("Tenancy", Tenancy));
        var leaks = modules
            .SelectMany(module => module.Value.GetExportedTypes().Where(t => !MayBePublic(module.Key, t)))
            .Select(t => t.FullName)
            .Order(StringComparer.Ordinal)
            .ToList();

        Assert.True(leaks.Count == 0, $"public, but neither XxxModule, options, contracts nor allow-listed: {string.Join(", ", leaks)}");
    }

    private static bool MayBePublic(string module, Type type)
    {
        var outer = type;
        while (outer.DeclaringType is not null)
        {
            outer = outer.DeclaringType;
        }

        return outer.FullName == $"Monolith.{module}.{module}Module"
            || outer.Name.EndsWith("Options", StringComparison.Ordinal)
            || outer.Namespace == $"Monolith.{module}.Contracts"
            || (module == "Tenancy" && TenancyPlatform.ContainsKey(outer.FullName!))
            || PublicToday.ContainsKey(outer.FullName!);
    }

    private static IEnumerable<Type> TopLevelTypes(Assembly assembly) =>
        assembly.GetTypes().Where(t => !t.IsNested && t.FullName is not null && t.Namespace is not null
            && !t.Name.Contains('<', StringComparison.Ordinal) && !t.IsDefined(typeof(CompilerGeneratedAttribute), false));
}
