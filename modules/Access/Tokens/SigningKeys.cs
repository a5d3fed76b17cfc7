using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using Monolith.SharedKernel.Secrets;

namespace Monolith.Access.Tokens;

/// <summary>
/// The HS256 key tokens are signed and validated with. In Production the key must pass the host's secrets rule
/// (<see cref="StartupSecrets"/>: set, 32 characters or more, not a value shipped in this repository). Elsewhere a
/// configured key shorter than 32 bytes is still an error (HS256 needs them), and a missing key becomes a random
/// key for this process only (tokens then die with the process, and instances do not share them).
/// </summary>
internal sealed partial class SigningKeys
{
    public SigningKeys(IOptions<AccessOptions> options, IHostEnvironment environment, ILogger<SigningKeys> logger)
    {
        var configured = options.Value.SigningKey;
        if (environment.IsProduction() && StartupSecrets.Problem(StartupSecrets.SigningKey, configured) is { } problem)
        {
            throw new InvalidOperationException(problem);
        }

        if (string.IsNullOrEmpty(configured))
        {
            LogEphemeralKey(logger);
            Key = new SymmetricSecurityKey(RandomNumberGenerator.GetBytes(AccessOptions.MinimumSigningKeyBytes)) { KeyId = "ephemeral" };
            return;
        }

        Key = new SymmetricSecurityKey(Check(configured)) { KeyId = "auth" };
    }

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
