using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Monolith.SharedKernel.Events;
using Monolith.Tenancy.Contracts;
using Monolith.Toggles.Data;

namespace Monolith.Toggles.Evaluation;

/// <summary>
/// The default of undefined toggles is Tenancy's setting <c>toggles.undefined-default</c>: when it is written, the tenant's
/// toggle state gets a fresh version and every instance is told to drop the tenant (<c>&lt;schema&gt;:*</c>), in the
/// writing transaction, as a change of Toggles' own tables does through their triggers (docs/adr/0050, 0051).
/// </summary>
internal sealed class UndefinedDefaultFollower(TogglesDatabase database) : IInProcessEventSubscriber<TenantSettingChanged>
{
    public async Task HandleAsync(TenantSettingChanged message, DbTransaction transaction, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(transaction);
        if (message.Key != ToggleStore.UndefinedDefaultSetting)
        {
            return;
        }

        // SQL: an upsert from the sequence (EF has neither) and the notification, in one statement.
        await using var db = database.On(transaction);
        await db.Database.ExecuteSqlAsync(
            $"""
             WITH bumped AS (
                 INSERT INTO feature_toggle_state (id, version) VALUES (1, nextval('feature_toggle_versions'))
                 ON CONFLICT (id) DO UPDATE SET version = excluded.version
                 RETURNING version)
             SELECT pg_notify('monolith_toggles', {message.Tenant.SchemaName} || ':*') FROM bumped
             """, ct);
    }
}
