using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Security.Claims;
using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Monolith.Tests.Support;
using Serilog.Core;
using Serilog.Events;

namespace Monolith.Tests.Access;

/// <summary>Small builders for the Access tests: hand-made tokens and bearer clients.</summary>
internal static class AccessTestKit
{
    public const string Issuer = "monolith";
    public const string Audience = "monolith-api";

    /// <summary>A token signed with the given key (the test host's key unless told otherwise).</summary>
    public static string Mint(
        Guid userId,
        string tenant,
        string role,
        string? key = null,
        DateTime? expires = null,
        string algorithm = SecurityAlgorithms.HmacSha256,
        string issuer = Issuer,
        string audience = Audience,
        Guid? tenantId = null,
        Guid? sessionId = null)
    {
        var exp = expires ?? DateTime.UtcNow.AddMinutes(5);
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            IssuedAt = exp.AddMinutes(-10),
            NotBefore = exp.AddMinutes(-10),
            Expires = exp,
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(key ?? MonolithFactory.SigningKey)), algorithm),
            Subject = new ClaimsIdentity(
            [
                new Claim("sub", userId.ToString()),
                new Claim("tenant", tenant),
                new Claim("role", role),
                new Claim("jti", Guid.NewGuid().ToString("N")),
            ]),
        };
        if (tenantId is { } tid)
        {
            descriptor.Subject.AddClaim(new Claim("tid", tid.ToString()));
        }

        if (sessionId is { } sid)
        {
            descriptor.Subject.AddClaim(new Claim("sid", sid.ToString()));
        }

        return new JsonWebTokenHandler().CreateToken(descriptor);
    }

    /// <summary>The claims of a token (no validation): for reading the tenant id and session of a real one.</summary>
    public static JsonWebToken Read(string token) => new(token);

    public static Guid ClaimId(string token, string claim) => Guid.Parse(Read(token).GetClaim(claim).Value);

    public static string Base64Url(string json) => Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Encode(json);

    public static string DecodePart(string part) => Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Decode(part);

    public static HttpClient WithBearer(this HttpClient client, string token)
    {
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }
}

/// <summary>A Serilog sink that keeps every event of the host it is registered in, rendered with its properties.</summary>
public sealed class CapturedLogs : ILogEventSink
{
    private readonly ConcurrentQueue<string> events = new();

    public IReadOnlyCollection<string> Events => events;

    public void Emit(LogEvent logEvent)
    {
        ArgumentNullException.ThrowIfNull(logEvent);
        var text = new StringBuilder(logEvent.RenderMessage(System.Globalization.CultureInfo.InvariantCulture));
        foreach (var (name, value) in logEvent.Properties)
        {
            text.Append(' ').Append(name).Append('=').Append(value.ToString());
        }

        if (logEvent.Exception is { } exception)
        {
            text.Append(' ').Append(exception);
        }

        events.Enqueue(text.ToString());
    }
}
