using Npgsql;

namespace Monolith.Access.Users;

internal static class UserStatus
{
    public const string Active = "active";
    public const string Disabled = "disabled";

    public static readonly IReadOnlyList<string> All = [Active, Disabled];
}

internal sealed record UserRow(
    Guid Id,
    string Email,
    string Name,
    string Role,
    string PasswordHash,
    string Status,
    int Version,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    DateTimeOffset? LastLoginAt,
    bool EmailVerified)
{
    public string ETag => $"\"{Version}\"";

    public UserResponse ToResponse() => new(Id, Email, Name, Role, Status, EmailVerified, CreatedAt, UpdatedAt, LastLoginAt);
}

/// <summary>A user as the API shows it: never the password or its hash.</summary>
internal sealed record UserResponse(
    Guid Id,
    string Email,
    string Name,
    string Role,
    string Status,
    bool EmailVerified,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    DateTimeOffset? LastLoginAt);

/// <summary>SQL on the tenant's <c>users</c> table; every call runs on a connection bound to the tenant.</summary>
internal static class UserStore
{
    private const string Columns = "id, email, name, role, password_hash, status, version, created_at, updated_at, last_login_at, email_verified";

    public static Task<UserRow?> FindAsync(NpgsqlConnection connection, Guid id, CancellationToken ct, NpgsqlTransaction? transaction = null, bool forUpdate = false) =>
        SingleAsync(connection, transaction, $"SELECT {Columns} FROM users WHERE id = $1{(forUpdate ? " FOR UPDATE" : string.Empty)}", ct, id);

    public static Task<UserRow?> FindByEmailAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string email, CancellationToken ct, bool forUpdate = false) =>
        SingleAsync(connection, transaction, $"SELECT {Columns} FROM users WHERE lower(email) = lower($1){(forUpdate ? " FOR UPDATE" : string.Empty)}", ct, email);

    public static async Task<List<UserRow>> ListAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, string? role, string? status, Guid? after, int take, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(
            $"""
             SELECT {Columns} FROM users
             WHERE ($1::text IS NULL OR role = $1) AND ($2::text IS NULL OR status = $2) AND ($3::uuid IS NULL OR id > $3)
             ORDER BY id LIMIT $4
             """, connection, transaction);
        command.Parameters.Add(Nullable(role));
        command.Parameters.Add(Nullable(status));
        command.Parameters.Add(new NpgsqlParameter { Value = after.HasValue ? after.Value : DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Uuid });
        command.Parameters.AddWithValue(take);
        await using var reader = await command.ExecuteReaderAsync(ct);
        var rows = new List<UserRow>();
        while (await reader.ReadAsync(ct))
        {
            rows.Add(Read(reader));
        }

        return rows;
    }

    /// <summary>Locks and returns the ids of the active owners: the lock serializes every change that could remove the last one.</summary>
    public static async Task<List<Guid>> LockActiveOwnersAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(
            "SELECT id FROM users WHERE role = 'owner' AND status = 'active' ORDER BY id FOR UPDATE", connection, transaction);
        await using var reader = await command.ExecuteReaderAsync(ct);
        var ids = new List<Guid>();
        while (await reader.ReadAsync(ct))
        {
            ids.Add(reader.GetGuid(0));
        }

        return ids;
    }

    public static async Task<UserRow> InsertAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, string email, string name, string role, string passwordHash, bool emailVerified,
        CancellationToken ct, Guid? id = null) =>
        (await SingleAsync(connection, transaction,
            $"INSERT INTO users (id, email, name, role, password_hash, email_verified) VALUES ($1, $2, $3, $4, $5, $6) RETURNING {Columns}",
            ct, id ?? Guid.CreateVersion7(), email, name, role, passwordHash, emailVerified))!;

    public static Task<UserRow?> UpdateAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, UserRow changed, CancellationToken ct) =>
        SingleAsync(connection, transaction,
            $"""
             UPDATE users SET email = $2, name = $3, role = $4, status = $5, password_hash = $6, email_verified = $7, version = version + 1, updated_at = now()
             WHERE id = $1 RETURNING {Columns}
             """, ct, changed.Id, changed.Email, changed.Name, changed.Role, changed.Status, changed.PasswordHash, changed.EmailVerified);

    public static async Task<bool> DeleteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid id, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand("DELETE FROM users WHERE id = $1", connection, transaction);
        command.Parameters.AddWithValue(id);
        return await command.ExecuteNonQueryAsync(ct) == 1;
    }

    public static UserRow Read(NpgsqlDataReader reader) => new(
        reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4), reader.GetString(5),
        reader.GetInt32(6), reader.GetFieldValue<DateTimeOffset>(7), reader.GetFieldValue<DateTimeOffset>(8),
        reader.IsDBNull(9) ? null : reader.GetFieldValue<DateTimeOffset>(9), reader.GetBoolean(10));

    public static NpgsqlParameter Nullable(string? value) =>
        new() { Value = value is null ? DBNull.Value : value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text };

    private static async Task<UserRow?> SingleAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql, CancellationToken ct, params object[] values)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        foreach (var value in values)
        {
            command.Parameters.AddWithValue(value);
        }

        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? Read(reader) : null;
    }
}
