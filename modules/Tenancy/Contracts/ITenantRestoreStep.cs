using Monolith.Tenancy.Catalog;
using Npgsql;

namespace Monolith.Tenancy.Contracts;

/// <summary>
/// What a module does to a tenant restored from a backup before it opens (a restore copies the original's rows as they
/// were): Access ends the original's sessions, Toggles schedules its pending changes. Runs as the owner role with
/// search_path at the new tenant's schema, in the restore's last transaction on the catalog's server (it commits with
/// the tenant's activation or not at all), or, on another server of the placement map, just before it (a failure after
/// that removes the whole tenant).
/// </summary>
public interface ITenantRestoreStep
{
    Task AfterRestoreAsync(TenantInfo tenant, NpgsqlTransaction transaction, CancellationToken ct);
}
