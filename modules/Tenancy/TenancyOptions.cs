using Monolith.SharedKernel.Caching;

namespace Monolith.Tenancy;

public sealed class TenancyOptions
{
    public const string Section = "Tenancy";

    /// <summary>The order used when configuration names none.</summary>
    public static readonly IReadOnlyList<string> DefaultResolutionOrder = ["header", "host", "claim"];

    /// <summary>
    /// Strategies in the order they are asked ("header", "host", "claim"); a configured list replaces
    /// <see cref="DefaultResolutionOrder"/> (a strategy left out is off). Empty here on purpose: the configuration
    /// binder appends to an array it finds, so a default in the initializer would survive any configured order.
    /// </summary>
    public string[] ResolutionOrder { get; set; } = [];

    /// <summary>The configured order, or the default when none is configured.</summary>
    public IReadOnlyList<string> EffectiveResolutionOrder() => ResolutionOrder.Length > 0 ? ResolutionOrder : DefaultResolutionOrder;

    /// <summary>For the host strategy: a request to <c>acme.{BaseDomain}</c> is tenant <c>acme</c>. Unset: the strategy names no tenant.</summary>
    public string? BaseDomain { get; set; }

    /// <summary>How often each instance checks the catalog for changes it was not notified of.</summary>
    public int CatalogPollMilliseconds { get; set; } = 1000;

    public int DefaultAuditRetentionDays { get; set; } = 365;

    public int DefaultLogRetentionDays { get; set; } = 30;

    /// <summary>How long a deleted tenant keeps its data (and its identifier) before the daily purge job removes it.</summary>
    public int DeletionGraceDays { get; set; } = 30;

    /// <summary>
    /// After a move's switch, how long the old copy is kept before it is removed: every host follows the switch within a
    /// second through the catalog's change notification (docs/adr/0066).
    /// </summary>
    public int MoveGraceSeconds { get; set; } = 2;

    /// <summary>How long a move waits for the writes in flight to finish when it freezes a tenant; past it the move fails.</summary>
    public int MoveLockTimeoutMs { get; set; } = 5000;

    /// <summary>When the purge job runs (cron, UTC): daily at 03:17 unless configured.</summary>
    public string PurgeSchedule { get; set; } = "17 3 * * *";

    /// <summary>How many tenant schemas "migrate" works on at once.</summary>
    public int MigrationParallelism { get; set; } = 4;

    /// <summary>Tenants one pass of a migration job takes (per host instance running it); the job then goes on with a new pass.</summary>
    public int MigrationBatchSize { get; set; } = 500;

    /// <summary>Deleted tenants one run of the purge job purges (each with a final backup); the rest go to the next run.</summary>
    public int PurgeBatchSize { get; set; } = 20;

    /// <summary>Apply the platform scripts when the host starts (cheap when current).</summary>
    public bool MigratePlatformOnStartup { get; set; } = true;

    /// <summary>New schemas are copied from the template schema (docs/adr/0062); false: every new schema replays the scripts.</summary>
    public bool ProvisionFromTemplate { get; set; } = true;

    /// <summary>How many spare schemas (made ahead from the template) each database keeps for new tenants; 0: none.</summary>
    public int SpareSchemas { get; set; } = 4;

    /// <summary>
    /// The host runs behind a transaction-mode pooler (PgBouncer): it then accepts <c>No Reset On Close</c> and refuses
    /// automatic preparation. Tenant settings are transaction-local either way (docs/adr/0005).
    /// </summary>
    public bool TransactionPooling { get; set; }

    /// <summary>
    /// Tenant affinity: the request pool is split into this many sub-pools (its Max Pool Size shared between them) and each
    /// tenant is always served by the same one, so each PostgreSQL backend caches the catalog of about 1/N of the schemas
    /// (docs/adr/0064). Unset: <see cref="PlatformDatabase.DefaultRequestPools"/>, or 1 under <see cref="TransactionPooling"/>
    /// (the pooler hands any server connection to any transaction, so affinity in the host would buy nothing). 1: off.
    /// </summary>
    public int? RequestPools { get; set; }

    /// <summary>
    /// Each sub-pool logs in as a role of its own, a member of its own tenants' roles only, which the owner makes with the
    /// request role's password (docs/adr/0073): PostgreSQL 15 builds a list of every role a login belongs to on each
    /// backend's first <c>SET ROLE</c> and after every role change, at a cost that grows with the square of its length.
    /// Default true; false: every sub-pool logs in as the request role. Needs a separate owner and more than one sub-pool.
    /// </summary>
    public bool? RequestLogins { get; set; }

    /// <summary>
    /// A backend of the request pool whose memory contexts hold this many MB ends instead of going back to the pool, so that
    /// the caches PostgreSQL keeps per schema stay bounded whatever the number of tenants (docs/adr/0071). Unset:
    /// <see cref="PlatformDatabase.DefaultBackendMemoryMegabytes"/>; 0: no limit. Off under <see cref="TransactionPooling"/>.
    /// </summary>
    public int? BackendMemoryMegabytes { get; set; }

    /// <summary>
    /// How many of a server's cached tenants each cache's fallback poll visits per pass, per instance: the user cache's
    /// and the toggle cache's (docs/adr/0069). Each tenant visited is a statement of its own, so this bounds the polls'
    /// cost whatever the number of tenants in use; with more in use, a change whose notification was lost is caught within
    /// ⌈tenants ÷ this⌉ polls instead of one. Refused at start below 1.
    /// </summary>
    public int CachePollTenants { get; set; } = PollRotation.DefaultPerPass;

    /// <summary><see cref="CachePollTenants"/>, or a start-up error when it is below 1.</summary>
    public int ValidCachePollTenants() => CachePollTenants >= 1
        ? CachePollTenants
        : throw new InvalidOperationException($"{Section}__{nameof(CachePollTenants)} is {CachePollTenants}: it must be at least 1.");

    /// <summary>Default statement timeout of a tenant's database work; a tenant's own <c>statementTimeoutMs</c> wins.</summary>
    public int StatementTimeoutMs { get; set; } = 5000;

    /// <summary>How long a tenant statement waits for a lock before it fails; unset: the statement timeout (it is never longer).</summary>
    public int? LockTimeoutMs { get; set; }

    /// <summary>A tenant transaction left idle this long is ended by the server (its connection closes).</summary>
    public int IdleInTransactionTimeoutMs { get; set; } = 15000;

    /// <summary>Default number of one tenant's requests working on the database at once; null: a quarter of the request pool.</summary>
    public int? MaxConcurrency { get; set; }

    /// <summary>How long a request waits for one of its tenant's slots before it answers 503 tenant-busy.</summary>
    public int ConcurrencyQueueMs { get; set; } = 1000;

    /// <summary>Time limit of a whole tenant request (ASP.NET Core request timeouts); past it the request answers 503.</summary>
    public int RequestTimeoutMs { get; set; } = 30000;

    public const int MaxStatementTimeoutMs = 600_000;
}
