using System.Security.Cryptography;
using System.Text;
using Monolith.Tenancy.Isolation;
using Monolith.Tests.Support;

namespace Monolith.Tests.Tenancy;

/// <summary>
/// The SCRAM-SHA-256 verifier the owner stores for a request sub-pool's login (docs/adr/0073): PostgreSQL's own form,
/// checked here the way a server checks a client's proof (RFC 5802: StoredKey = H(HMAC(SaltedPassword, "Client Key"))).
/// </summary>
[Trait("Category", Categories.Unit)]
public sealed class ScramVerifierTests
{
    [Fact]
    public void A_verifier_proves_its_password_and_no_other_and_never_holds_the_password()
    {
        var first = RequestLogins.ScramVerifier("correct horse battery staple");
        var second = RequestLogins.ScramVerifier("correct horse battery staple");

        Assert.Matches(@"^SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}:[A-Za-z0-9+/=]{44}$", first);
        Assert.True(Verifies(first, "correct horse battery staple"));
        Assert.False(Verifies(first, "correct horse battery stapler"));
        Assert.NotEqual(first, second); // a salt of its own each time
        Assert.DoesNotContain("horse", first, StringComparison.Ordinal);
    }

    /// <summary>Whether <paramref name="verifier"/> (PostgreSQL's <c>SCRAM-SHA-256$iterations:salt$StoredKey:ServerKey</c>) accepts <paramref name="password"/>.</summary>
    public static bool Verifies(string verifier, string password)
    {
        var parts = verifier.Split('$');
        var (iterationsAndSalt, keys) = (parts[1].Split(':'), parts[2].Split(':'));
        var salted = Rfc2898DeriveBytes.Pbkdf2(
            Encoding.UTF8.GetBytes(password), Convert.FromBase64String(iterationsAndSalt[1]), int.Parse(iterationsAndSalt[0], System.Globalization.CultureInfo.InvariantCulture),
            HashAlgorithmName.SHA256, 32);
        var storedKey = SHA256.HashData(HMACSHA256.HashData(salted, "Client Key"u8));
        var serverKey = HMACSHA256.HashData(salted, "Server Key"u8);
        return parts[0] == "SCRAM-SHA-256" && Convert.ToBase64String(storedKey) == keys[0] && Convert.ToBase64String(serverKey) == keys[1];
    }
}
