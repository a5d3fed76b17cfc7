using System.Security.Cryptography;
using Microsoft.AspNetCore.Identity;

namespace Monolith.Access.Passwords;

internal enum PasswordCheck
{
    Failed,
    Success,
    SuccessRehashNeeded,
}

/// <summary>
/// ASP.NET Core Identity's password hasher with its current parameters (format v3: PBKDF2-HMAC-SHA512,
/// 100,000 iterations, 128-bit salt, 256-bit subkey). Hashes made with older parameters verify and are
/// reported for rehashing. Unknown users are checked against a dummy hash so both paths cost the same.
/// <para>
/// The async forms let at most one hash per processor run at once; the others wait without holding a thread. A burst of
/// logins then keeps the thread pool free for the short database work of other requests, whose open transactions would
/// otherwise wait for a thread behind the hashes (and hold their pooled connections meanwhile).
/// </para>
/// </summary>
internal sealed class UserPasswords : IDisposable
{
    private readonly SemaphoreSlim gate = new(Environment.ProcessorCount, Environment.ProcessorCount);

    public const int MinimumLength = 12;
    public const int MaximumLength = 256;
    private const string Alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";

    private static readonly object User = new();
    private readonly PasswordHasher<object> hasher = new();
    private readonly string dummyHash;

    public UserPasswords() => dummyHash = hasher.HashPassword(User, Generate());

    public void Dispose() => gate.Dispose();

    public string Hash(string password) => hasher.HashPassword(User, password);

    public PasswordCheck Verify(string hash, string password) => hasher.VerifyHashedPassword(User, hash, password) switch
    {
        PasswordVerificationResult.Success => PasswordCheck.Success,
        PasswordVerificationResult.SuccessRehashNeeded => PasswordCheck.SuccessRehashNeeded,
        _ => PasswordCheck.Failed,
    };

    /// <summary>Spends the same work as a real check, for a login whose e-mail matches no user.</summary>
    public void VerifyDummy(string password) => hasher.VerifyHashedPassword(User, dummyHash, password);

    public Task<string> HashAsync(string password, CancellationToken ct) => GatedAsync(() => Hash(password), ct);

    public Task<PasswordCheck> VerifyAsync(string hash, string password, CancellationToken ct) => GatedAsync(() => Verify(hash, password), ct);

    public Task VerifyDummyAsync(string password, CancellationToken ct) => GatedAsync(() =>
    {
        VerifyDummy(password);
        return true;
    }, ct);

    private async Task<T> GatedAsync<T>(Func<T> work, CancellationToken ct)
    {
        await gate.WaitAsync(ct);
        try
        {
            return work();
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>The policy: 12 to 256 characters, and not the e-mail address. Null when acceptable.</summary>
    public static string? Validate(string? password, string? email, string field = "password")
    {
        if (string.IsNullOrEmpty(password))
        {
            return $"{field} is required.";
        }

        if (password.Length < MinimumLength)
        {
            return $"{field} must be at least {MinimumLength} characters long.";
        }

        if (password.Length > MaximumLength)
        {
            return $"{field} must be at most {MaximumLength} characters long.";
        }

        if (email is not null && string.Equals(password.Trim(), email.Trim(), StringComparison.OrdinalIgnoreCase))
        {
            return $"{field} must not be the e-mail address.";
        }

        return null;
    }

    /// <summary>A random password of 24 characters from a 57-character alphabet (about 140 bits).</summary>
    public static string Generate() => RandomNumberGenerator.GetString(Alphabet, 24);
}
