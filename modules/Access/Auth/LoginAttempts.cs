using Monolith.Tenancy.Isolation;

namespace Monolith.Access.Auth;

/// <summary>Whether a login attempt may go on; when not, how long until it may.</summary>
internal readonly record struct LoginAttempt(bool Allowed, int RetryAfterSeconds);

/// <summary>
/// The lockout (CONTRACT §5, docs/adr/0013): at most <c>AccountMaxFailures</c> attempts per e-mail address within
/// <c>AccountLockoutWindowSeconds</c>, counted per address whether or not a user has it, so an unknown address answers
/// exactly like a known one. An attempt is taken before the password is checked, by one conditional
/// <c>INSERT … ON CONFLICT DO UPDATE … WHERE … RETURNING</c>: parallel attempts queue on the row and exactly the
/// allowed number get through. A successful login gives the address its attempts back.
/// </summary>
internal static class LoginAttempts
{
    // The same lower() the user lookup uses, so "Owner@x" and "owner@x" share one counter.
    private const string AddressHash = "sha256(convert_to(lower($1), 'UTF8'))";

    private static int takes;

    public static async Task<LoginAttempt> TakeAsync(TenantConnection unit, string email, RateLimitOptions limits, CancellationToken ct)
    {
        var window = (double)Math.Max(1, limits.AccountLockoutWindowSeconds);
        await using var command = unit.Command(
            $"""
             WITH taken AS (
                 INSERT INTO login_failures AS f (address_hash, failures, window_start) VALUES ({AddressHash}, 1, now())
                 ON CONFLICT (address_hash) DO UPDATE SET
                     failures = CASE WHEN f.window_start <= now() - make_interval(secs => $3) THEN 1 ELSE f.failures + 1 END,
                     window_start = CASE WHEN f.window_start <= now() - make_interval(secs => $3) THEN now() ELSE f.window_start END
                 WHERE f.window_start <= now() - make_interval(secs => $3) OR f.failures < $2
                 RETURNING failures)
             SELECT EXISTS (SELECT 1 FROM taken),
                    (SELECT greatest(1, ceil(extract(epoch FROM window_start + make_interval(secs => $3) - now())))::int
                     FROM login_failures WHERE address_hash = {AddressHash})
             """);
        command.Parameters.AddWithValue(email);
        command.Parameters.AddWithValue(Math.Max(1, limits.AccountMaxFailures));
        command.Parameters.AddWithValue(window);
        bool allowed;
        int retryAfter;
        await using (var reader = await command.ExecuteReaderAsync(ct))
        {
            await reader.ReadAsync(ct);
            allowed = reader.GetBoolean(0);
            // Null only when the row appeared after this statement's snapshot: then the whole window is the honest answer.
            retryAfter = reader.IsDBNull(1) ? (int)window : reader.GetInt32(1);
        }

        if (Interlocked.Increment(ref takes) % 128 == 0)
        {
            // Now and then, the counters whose window is long over go (they would be reset on their next use anyway).
            await using var sweep = unit.Command("DELETE FROM login_failures WHERE window_start <= now() - make_interval(secs => $1)");
            sweep.Parameters.AddWithValue(window);
            await sweep.ExecuteNonQueryAsync(ct);
        }

        return new LoginAttempt(allowed, retryAfter);
    }

    /// <summary>After a successful login: the address starts again from zero.</summary>
    public static async Task ResetAsync(TenantConnection unit, string email, CancellationToken ct)
    {
        await using var command = unit.Command($"DELETE FROM login_failures WHERE address_hash = {AddressHash}");
        command.Parameters.AddWithValue(email);
        await command.ExecuteNonQueryAsync(ct);
    }
}
