using Monolith.SharedKernel.Context;

namespace Monolith.Toggles.Data;

/// <summary>
/// Who is changing a row, for an update written by SaveChanges (which cannot read the session's <c>monolith.actor_*</c>
/// as the scripts' defaults do): the same values TenantSession gives the session, empty meaning none.
/// </summary>
internal static class Actors
{
    public static (Guid? Id, string? Name) Current()
    {
        var operation = OperationContext.Current;
        var name = operation?.ActorEmail ?? operation?.ActorName;
        return (operation?.ActorId, string.IsNullOrEmpty(name) ? null : name);
    }
}
