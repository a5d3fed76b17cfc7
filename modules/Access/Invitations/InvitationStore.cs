using Npgsql;

namespace Monolith.Access.Invitations;

internal static class InvitationStatus
{
    public const string Pending = "pending";
    public const string Accepted = "accepted";
    public const string Cancelled = "cancelled";
    public const string Expired = "expired";

    public static readonly IReadOnlyList<string> All = [Pending, Accepted, Cancelled, Expired];
}

internal sealed record InvitedBy(Guid? Id, string Email);

/// <summary>An invitation as the API shows it: never its token.</summary>
internal sealed record InvitationResponse(
    Guid Id, string Email, string? Name, string Role, string Status, DateTimeOffset ExpiresAt, InvitedBy InvitedBy, DateTimeOffset CreatedAt);

internal sealed record InvitationRow(
    Guid Id, string Email, string? Name, string Role, string Status, DateTimeOffset ExpiresAt, Guid? InvitedById, string InvitedByEmail, DateTimeOffset CreatedAt)
{
    public InvitationResponse ToResponse() => new(Id, Email, Name, Role, Status, ExpiresAt, new InvitedBy(InvitedById, InvitedByEmail), CreatedAt);
}

/// <summary>
/// SQL on the tenant's <c>invitations</c>. The status read is the effective one: a pending invitation past its expiry
/// reads as expired (the column catches up when the address is invited again).
/// </summary>
internal static class InvitationStore
{
    private const string Columns =
        "id, email, name, role, CASE WHEN status = 'pending' AND expires_at <= $now THEN 'expired' ELSE status END, expires_at, invited_by_id, invited_by, created_at";

    public static async Task<InvitationRow?> FindAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid id, DateTimeOffset now, bool forUpdate, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(
            Sql($"SELECT {Columns} FROM invitations WHERE id = $1{(forUpdate ? " FOR UPDATE" : string.Empty)}"), connection, transaction);
        command.Parameters.AddWithValue(id);
        command.Parameters.AddWithValue(now);
        return await SingleAsync(command, ct);
    }

    public static async Task<List<InvitationRow>> ListAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, string? status, Guid? after, int take, DateTimeOffset now, CancellationToken ct)
    {
        // The effective status as the filter: expired = pending past its expiry, or marked expired.
        await using var command = new NpgsqlCommand(
            Sql($"""
                 SELECT {Columns} FROM invitations
                 WHERE ($1::uuid IS NULL OR id > $1)
                   AND ($3::text IS NULL
                        OR ($3 = 'pending' AND status = 'pending' AND expires_at > $now)
                        OR ($3 = 'expired' AND (status = 'expired' OR (status = 'pending' AND expires_at <= $now)))
                        OR ($3 NOT IN ('pending', 'expired') AND status = $3))
                 ORDER BY id LIMIT $4
                 """), connection, transaction);
        command.Parameters.Add(new NpgsqlParameter { Value = after.HasValue ? after.Value : DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Uuid });
        command.Parameters.AddWithValue(now);
        command.Parameters.Add(Users.UserStore.Nullable(status));
        command.Parameters.AddWithValue(take);
        await using var reader = await command.ExecuteReaderAsync(ct);
        var rows = new List<InvitationRow>();
        while (await reader.ReadAsync(ct))
        {
            rows.Add(Read(reader));
        }

        return rows;
    }

    /// <summary>A new pending invitation; a pending one of the same address that has expired is marked expired first. Throws a unique violation when one is live.</summary>
    public static async Task<InvitationRow> InsertAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, string email, string? name, string role, byte[] tokenHash,
        DateTimeOffset expiresAt, Guid invitedById, string invitedBy, DateTimeOffset now, CancellationToken ct)
    {
        await using (var expire = new NpgsqlCommand(
            "UPDATE invitations SET status = 'expired', updated_at = now() WHERE lower(email) = lower($1) AND status = 'pending' AND expires_at <= $2",
            connection, transaction))
        {
            expire.Parameters.AddWithValue(email);
            expire.Parameters.AddWithValue(now);
            await expire.ExecuteNonQueryAsync(ct);
        }

        await using var command = new NpgsqlCommand(
            Sql($"""
                 INSERT INTO invitations (id, email, name, role, token_hash, expires_at, invited_by_id, invited_by)
                 VALUES ($1, $3, $4, $5, $6, $7, $8, $9) RETURNING {Columns}
                 """), connection, transaction);
        command.Parameters.AddWithValue(Guid.CreateVersion7());
        command.Parameters.AddWithValue(now);
        command.Parameters.AddWithValue(email);
        command.Parameters.Add(Users.UserStore.Nullable(name));
        command.Parameters.AddWithValue(role);
        command.Parameters.AddWithValue(tokenHash);
        command.Parameters.AddWithValue(expiresAt);
        command.Parameters.AddWithValue(invitedById);
        command.Parameters.AddWithValue(invitedBy);
        return (await SingleAsync(command, ct))!;
    }

    /// <summary>A new token and expiry for a pending invitation (the earlier link dies with its hash).</summary>
    public static async Task<InvitationRow> RenewAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, Guid id, byte[] tokenHash, DateTimeOffset expiresAt, DateTimeOffset now, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(
            Sql($"""
                 UPDATE invitations SET token_hash = $3, expires_at = $4, status = 'pending', sent_count = sent_count + 1, updated_at = now()
                 WHERE id = $1 RETURNING {Columns}
                 """), connection, transaction);
        command.Parameters.AddWithValue(id);
        command.Parameters.AddWithValue(now);
        command.Parameters.AddWithValue(tokenHash);
        command.Parameters.AddWithValue(expiresAt);
        return (await SingleAsync(command, ct))!;
    }

    public static async Task SetStatusAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid id, string status, Guid? acceptedUserId, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(
            "UPDATE invitations SET status = $2, accepted_user_id = coalesce($3, accepted_user_id), updated_at = now() WHERE id = $1",
            connection, transaction);
        command.Parameters.AddWithValue(id);
        command.Parameters.AddWithValue(status);
        command.Parameters.Add(new NpgsqlParameter { Value = acceptedUserId.HasValue ? acceptedUserId.Value : DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Uuid });
        await command.ExecuteNonQueryAsync(ct);
    }

    /// <summary>The live invitation a token belongs to (locked when <paramref name="forUpdate"/>); null when unknown, cancelled, used or expired.</summary>
    public static async Task<InvitationRow?> FindLiveByTokenAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, byte[] tokenHash, DateTimeOffset now, bool forUpdate, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(
            Sql($"SELECT {Columns} FROM invitations WHERE token_hash = $1 AND status = 'pending' AND expires_at > $now{(forUpdate ? " FOR UPDATE" : string.Empty)}"),
            connection, transaction);
        command.Parameters.AddWithValue(tokenHash);
        command.Parameters.AddWithValue(now);
        return await SingleAsync(command, ct);
    }

    /// <summary>Positional parameter $2 is always "now" (the application's clock, so that tests can move it).</summary>
    private static string Sql(string sql) => sql.Replace("$now", "$2", StringComparison.Ordinal);

    private static async Task<InvitationRow?> SingleAsync(NpgsqlCommand command, CancellationToken ct)
    {
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? Read(reader) : null;
    }

    private static InvitationRow Read(NpgsqlDataReader reader) => new(
        reader.GetGuid(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2), reader.GetString(3), reader.GetString(4),
        reader.GetFieldValue<DateTimeOffset>(5), reader.IsDBNull(6) ? null : reader.GetGuid(6), reader.GetString(7), reader.GetFieldValue<DateTimeOffset>(8));
}
