using Microsoft.EntityFrameworkCore;
using Monolith.Access.Data;
using Monolith.Tenancy.Isolation;

namespace Monolith.Access.Auth;

/// <summary>Whether a login attempt may go on; when not, how long until it may.</summary>
internal readonly record struct LoginAttempt(bool Allowed, int RetryAfterSeconds);

/// <summary>
/// The lockout (CONTRACT §5, docs/adr/0013): at most <c>AccountMaxFailures</c> attempts per e-mail address within
/// <c>AccountLockoutWindowSeconds</c>, counted per address whether or not a user has it, so an unknown address answers
/// exactly like a known one. An attempt is taken before the password is checked, by one conditional
/// <c>INSERT … ON CONFLICT DO UPDATE … WHERE … RETURNING</c>: parallel attempts queue on the row and exactly the
/// allowed number get through. A successful login gives the address its attempts back. The address is hashed by the
/// database (<c>lower()</c> as the user lookup has it), so both statements that name it stay SQL.
/// </summary>
internal static class LoginAttempts
{
    private static int takes;

    public static async Task<LoginAttempt> TakeAsync(AccessDbContext db, string email, RateLimitOptions limits, CancellationToken ct)
    {
        var window = (double)Math.Max(1, limits.AccountLockoutWindowSeconds);
        var maxFailures = Math.Max(1, limits.AccountMaxFailures);
        var taken = await db.Database.SqlQuery<TakenAttempt>(
            $"""
             WITH taken AS (
                 INSERT INTO login_failures AS f (address_hash, failures, window_start) VALUES (sha256(convert_to(lower({email}), 'UTF8')), 1, now())
                 ON CONFLICT (address_hash) DO UPDATE SET
                     failures = CASE WHEN f.window_start <= now() - make_interval(secs => {window}) THEN 1 ELSE f.failures + 1 END,
                     window_start = CASE WHEN f.window_start <= now() - make_interval(secs => {window}) THEN now() ELSE f.window_start END
                 WHERE f.window_start <= now() - make_interval(secs => {window}) OR f.failures < {maxFailures}
                 RETURNING failures)
             SELECT EXISTS (SELECT 1 FROM taken) AS "Allowed",
                    (SELECT greatest(1, ceil(extract(epoch FROM window_start + make_interval(secs => {window}) - now())))::int
                     FROM login_failures WHERE address_hash = sha256(convert_to(lower({email}), 'UTF8'))) AS "RetryAfter"
             """).FirstOrNullAsync(ct);

        if (Interlocked.Increment(ref takes) % 128 == 0)
        {
            // Now and then, the counters whose window is long over go (they would be reset on their next use anyway).
            var over = DateTimeOffset.UtcNow.AddSeconds(-window);
            await db.LoginFailures.Where(f => f.WindowStart <= over).ExecuteDeleteAsync(ct);
        }

        // RetryAfter is null only when the row appeared after this statement's snapshot: then the whole window is the honest answer.
        return new LoginAttempt(taken!.Allowed, taken.RetryAfter ?? (int)window);
    }

    /// <summary>After a successful login: the address starts again from zero.</summary>
    public static Task ResetAsync(AccessDbContext db, string email, CancellationToken ct) =>
        db.Database.ExecuteSqlAsync($"DELETE FROM login_failures WHERE address_hash = sha256(convert_to(lower({email}), 'UTF8'))", ct);

    private sealed class TakenAttempt
    {
        public bool Allowed { get; init; }

        public int? RetryAfter { get; init; }
    }
}
