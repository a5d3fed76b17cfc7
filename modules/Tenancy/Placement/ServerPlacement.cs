namespace Monolith.Tenancy.Placement;

/// <summary>Where a new tenant goes: the active server with the most room (capacity less its tenants), ties to the catalog's.</summary>
internal static class ServerPlacement
{
    /// <summary>
    /// Null when no active server has room. Two provisionings at once may both take a server's last place: capacity is a
    /// placement target, not a hard limit.
    /// </summary>
    public static async Task<string?> ChooseAsync(PlatformDatabase catalog, CancellationToken ct)
    {
        await using var command = catalog.DataSource.CreateCommand(
            """
            SELECT s.name
            FROM platform.servers s
            LEFT JOIN (SELECT server, count(*) AS placed FROM platform.tenants GROUP BY server) t ON t.server = s.name
            WHERE s.status = 'active' AND s.capacity > coalesce(t.placed, 0)
            ORDER BY s.capacity - coalesce(t.placed, 0) DESC, s.name = 'main' DESC, s.name
            LIMIT 1
            """);
        return await command.ExecuteScalarAsync(ct) as string;
    }
}
