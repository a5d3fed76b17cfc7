using System.Security.Cryptography;
using System.Text;
using Monolith.Tenancy.Provisioning;
using Npgsql;

namespace Monolith.Tenancy.Isolation;

/// <summary>
/// One login role per request sub-pool (docs/adr/0073). PostgreSQL 15 decides "may this login become that role?" from a
/// list of every role the login belongs to, built on a backend's first <c>SET ROLE</c> and again after any role change in
/// the cluster, at a cost that grows with the square of its length (339 ms at 10,000 tenant roles). Sub-pool k of N logs
/// in as <c>{request role}_pool{k}_of{N}</c>, a member of the roles of the tenants that hash to k only; the request role
/// itself stays a member of every tenant role and serves the catalog and the sessions that spill over.
/// <para>
/// The logins are made by the owner (which may create roles, CONTRACT §8) with the request role's password, and are as
/// bare as the request role: LOGIN, NOINHERIT, nothing owned, no privilege but USAGE on <c>platform</c> and the memory
/// measure of their own backend. <c>platform.request_logins</c> records each set made on a server, so that every tenant
/// role is granted to its login in every set, whichever host made it.
/// </para>
/// </summary>
internal static class RequestLogins
{
    /// <summary>
    /// The logins of <paramref name="pools"/> sub-pools of <paramref name="requestRole"/>; empty when there is nothing to
    /// split (one sub-pool, no role name) or when a name would pass PostgreSQL's 63 bytes.
    /// </summary>
    public static IReadOnlyList<string> NamesFor(string requestRole, int pools)
    {
        if (pools <= 1 || requestRole.Length == 0)
        {
            return [];
        }

        var names = Enumerable.Range(0, pools).Select(k => $"{requestRole}_pool{k}_of{pools}").ToList();
        return names.All(name => Encoding.UTF8.GetByteCount(name) <= 63) ? names : [];
    }

    /// <summary>
    /// On one server, as its owner, inside <paramref name="transaction"/> (which holds the role-change lock): makes this
    /// host's logins if they are missing, records them, and grants every tenant role on the server to its login in every
    /// recorded set. Returns how many memberships it granted.
    /// </summary>
    public static int Ensure(PlatformDatabase server, NpgsqlConnection connection, NpgsqlTransaction transaction)
    {
        for (var k = 0; k < server.RequestLogins.Count; k++)
        {
            Create(server, server.RequestLogins[k], server.RequestLogins.Count, k, connection, transaction);
        }

        var sets = Sets(connection, transaction);
        if (sets.Count == 0)
        {
            return 0;
        }

        var members = new HashSet<(uint Role, uint Login)>();
        using (var command = new NpgsqlCommand(
                   """
                   SELECT m.roleid, m.member FROM pg_auth_members m
                   JOIN pg_roles r ON r.oid = m.member JOIN platform.request_logins l ON l.role_name = r.rolname
                   """, connection, transaction))
        {
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                members.Add((reader.GetFieldValue<uint>(0), reader.GetFieldValue<uint>(1)));
            }
        }

        var grants = new List<string>();
        using (var command = new NpgsqlCommand(
                   "SELECT t.id, r.oid, r.rolname FROM platform.tenants t JOIN pg_roles r ON r.rolname = t.role_name", connection, transaction))
        {
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                var (tenantId, role, roleName) = (reader.GetGuid(0), reader.GetFieldValue<uint>(1), reader.GetString(2));
                grants.AddRange(GrantsOf(tenantId, roleName, sets.Where(login => !members.Contains((role, login.Oid)))));
            }
        }

        foreach (var batch in grants.Chunk(500))
        {
            using var command = new NpgsqlCommand(string.Concat(batch), connection, transaction);
            command.ExecuteNonQuery();
        }

        return grants.Count;
    }

    /// <summary>
    /// Grants a new tenant's role to its login in every recorded set, in the transaction that makes or renames the role
    /// (after granting it to the request role).
    /// </summary>
    public static async Task GrantAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid tenantId, string roleName, CancellationToken ct)
    {
        // Serialised with Ensure: a set it records while this tenant is being made is then either seen here or repaired there.
        await TenantLocks.LockRoleChangesAsync(connection, transaction, ct);
        var sets = new List<Login>();
        await using (var command = new NpgsqlCommand(SetsSql, connection, transaction))
        await using (var reader = await command.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                sets.Add(LoginOf(reader));
            }
        }

        var grants = GrantsOf(tenantId, roleName, sets).ToList();
        if (grants.Count > 0)
        {
            await using var command = new NpgsqlCommand(string.Concat(grants), connection, transaction);
            await command.ExecuteNonQueryAsync(ct);
        }
    }

    /// <summary>
    /// Makes sure each of the server's logins can log in with the request role's password: one connection each, and where
    /// the password is refused, the owner sets it (as a SCRAM verifier: the password itself never reaches the server) and
    /// tries again. Returns the logins still refused, with why (an <c>pg_hba.conf</c> that names the request role only,
    /// for one); the host then serves every tenant through the request role (<see cref="PlatformDatabase"/>).
    /// </summary>
    public static IReadOnlyList<string> CheckPasswords(PlatformDatabase server, NpgsqlConnection ownerConnection)
    {
        var refused = new List<string>();
        var password = new NpgsqlConnectionStringBuilder(server.RequestConnectionString).Password;
        foreach (var login in server.RequestLogins)
        {
            if (TryLogIn(server, login) is not { } failure)
            {
                continue;
            }

            if (failure.SqlState == PostgresErrorCodes.InvalidPassword && password is { Length: > 0 })
            {
                using (var alter = new NpgsqlCommand($"ALTER ROLE {SqlIdentifier.Quote(login)} PASSWORD '{ScramVerifier(password)}'", ownerConnection))
                {
                    alter.ExecuteNonQuery();
                }

                failure = TryLogIn(server, login);
                if (failure is null)
                {
                    continue;
                }
            }

            refused.Add($"{login}: {failure.SqlState} {failure.MessageText}");
        }

        return refused;
    }

    /// <summary>
    /// Gives every recorded login on the owner's server <paramref name="password"/>: the request role's new one, when a
    /// server's connection strings change (docs/adr/0066), so that the pools every host makes next can log in.
    /// </summary>
    public static async Task SetPasswordsAsync(NpgsqlConnection ownerConnection, string password, CancellationToken ct)
    {
        var logins = new List<string>();
        await using (var command = new NpgsqlCommand(
                         "SELECT l.role_name FROM platform.request_logins l JOIN pg_roles r ON r.rolname = l.role_name", ownerConnection))
        await using (var reader = await command.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                logins.Add(reader.GetString(0));
            }
        }

        foreach (var login in logins)
        {
            await using var alter = new NpgsqlCommand($"ALTER ROLE {SqlIdentifier.Quote(login)} PASSWORD '{ScramVerifier(password)}'", ownerConnection);
            await alter.ExecuteNonQueryAsync(ct);
        }
    }

    /// <summary>
    /// A SCRAM-SHA-256 verifier of <paramref name="password"/> in PostgreSQL's own form (RFC 5803), 4,096 iterations as
    /// PostgreSQL makes them: what <c>ALTER ROLE … PASSWORD</c> stores when handed the password itself.
    /// </summary>
    public static string ScramVerifier(string password)
    {
        const int iterations = 4096;
        var salt = RandomNumberGenerator.GetBytes(16);
        var salted = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, 32);
        var clientKey = HMACSHA256.HashData(salted, "Client Key"u8);
        var storedKey = SHA256.HashData(clientKey);
        var serverKey = HMACSHA256.HashData(salted, "Server Key"u8);
        return $"SCRAM-SHA-256${iterations}:{Convert.ToBase64String(salt)}${Convert.ToBase64String(storedKey)}:{Convert.ToBase64String(serverKey)}";
    }

    private sealed record Login(string Name, int Pools, int SubPool, uint Oid);

    private const string SetsSql =
        "SELECT l.role_name, l.pools, l.sub_pool, r.oid FROM platform.request_logins l JOIN pg_roles r ON r.rolname = l.role_name";

    private static List<Login> Sets(NpgsqlConnection connection, NpgsqlTransaction transaction)
    {
        var sets = new List<Login>();
        using var command = new NpgsqlCommand(SetsSql, connection, transaction);
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            sets.Add(LoginOf(reader));
        }

        return sets;
    }

    private static Login LoginOf(NpgsqlDataReader reader) =>
        new(reader.GetString(0), reader.GetInt32(1), reader.GetInt32(2), reader.GetFieldValue<uint>(3));

    /// <summary>The GRANTs that make <paramref name="roleName"/> a member of the tenant's login in each of <paramref name="sets"/>.</summary>
    private static IEnumerable<string> GrantsOf(Guid tenantId, string roleName, IEnumerable<Login> sets) =>
        sets.Where(login => PlatformDatabase.SubPoolOf(tenantId, login.Pools) == login.SubPool)
            .Select(login => $"GRANT {SqlIdentifier.Quote(roleName)} TO {SqlIdentifier.Quote(login.Name)};");

    private static void Create(PlatformDatabase server, string login, int pools, int subPool, NpgsqlConnection connection, NpgsqlTransaction transaction)
    {
        bool? powerful;
        using (var find = new NpgsqlCommand(
                   """
                   SELECT r.rolsuper OR r.rolinherit OR r.rolcreaterole OR r.rolcreatedb OR r.rolreplication OR r.rolbypassrls
                          OR EXISTS (SELECT 1 FROM pg_namespace n WHERE n.nspowner = r.oid)
                          OR EXISTS (SELECT 1 FROM pg_class c WHERE c.relowner = r.oid)
                   FROM pg_roles r WHERE r.rolname = $1
                   """, connection, transaction))
        {
            find.Parameters.AddWithValue(login);
            powerful = find.ExecuteScalar() as bool?;
        }

        if (powerful == true)
        {
            // Never adopt a role of that name that could do more than the request role: every tenant would be granted to it.
            throw new InvalidOperationException(
                $"The role {login} exists and is not a bare login (it is a superuser, inherits, can create roles or databases, or owns something): it cannot serve as a request sub-pool's login (docs/adr/0073). Drop or rename it.");
        }

        var quoted = SqlIdentifier.Quote(login);
        var password = new NpgsqlConnectionStringBuilder(server.RequestConnectionString).Password;
        var sql = new StringBuilder();
        if (powerful is null)
        {
            sql.Append($"CREATE ROLE {quoted} LOGIN NOINHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS");
            sql.Append(password is { Length: > 0 } ? $" PASSWORD '{ScramVerifier(password)}';" : ";");
        }

        sql.Append($"GRANT USAGE ON SCHEMA platform TO {quoted};");
        sql.Append($"GRANT EXECUTE ON FUNCTION platform.backend_memory_bytes() TO {quoted};");
        using (var grant = new NpgsqlCommand(sql.ToString(), connection, transaction))
        {
            grant.ExecuteNonQuery();
        }

        using var command = new NpgsqlCommand(
            "INSERT INTO platform.request_logins (role_name, pools, sub_pool) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", connection, transaction);
        command.Parameters.AddWithValue(login);
        command.Parameters.AddWithValue(pools);
        command.Parameters.AddWithValue(subPool);
        command.ExecuteNonQuery();
    }

    private static PostgresException? TryLogIn(PlatformDatabase server, string login)
    {
        var builder = new NpgsqlConnectionStringBuilder(server.RequestConnectionString) { Username = login, Pooling = false, Timeout = 10 };
        try
        {
            using var connection = new NpgsqlConnection(builder.ConnectionString);
            connection.Open();
            return null;
        }
        catch (PostgresException e) when (e.SqlState.StartsWith("28", StringComparison.Ordinal))
        {
            return e;
        }
    }
}
