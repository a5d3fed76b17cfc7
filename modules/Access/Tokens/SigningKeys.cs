using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace Monolith.Access.Tokens;

/// <summary>
/// The HS256 key tokens are signed and validated with. A configured key shorter than 32 bytes is always a
/// start-up error; a missing key is one in Production, and elsewhere a random key for this process only
/// (tokens then die with the process, and instances do not share them).
/// </summary>
internal sealed partial class SigningKeys
{
    public SigningKeys(IOptions<AccessOptions> options, IHostEnvironment environment, ILogger<SigningKeys> logger)
    {
        var configured = options.Value.SigningKey;
        if (string.IsNullOrEmpty(configured))
        {
            if (environment.IsProduction())
            {
                throw new InvalidOperationException(MissingKeyMessage);
            }

            LogEphemeralKey(logger);
            Key = new SymmetricSecurityKey(RandomNumberGenerator.GetBytes(AccessOptions.MinimumSigningKeyBytes)) { KeyId = "ephemeral" };
            return;
        }

        Key = new SymmetricSecurityKey(Check(configured)) { KeyId = "auth" };
    }

    public const string MissingKeyMessage =
        "Auth__SigningKey must be set to a secret of at least 32 bytes (UTF-8) in Production: access tokens are signed with it (HS256).";

    public SymmetricSecurityKey Key { get; }

    public SigningCredentials Credentials => new(Key, SecurityAlgorithms.HmacSha256);

    /// <summary>Throws the start-up error for a weak key; returns the key bytes otherwise.</summary>
    public static byte[] Check(string configured)
    {
        var bytes = Encoding.UTF8.GetBytes(configured);
        return bytes.Length >= AccessOptions.MinimumSigningKeyBytes
            ? bytes
            : throw new InvalidOperationException(
                $"Auth__SigningKey is too weak: it must be at least {AccessOptions.MinimumSigningKeyBytes} bytes (UTF-8) for HS256.");
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Auth:SigningKey is not configured: tokens are signed with a random key that lives as long as this process")]
    private static partial void LogEphemeralKey(ILogger logger);
}
