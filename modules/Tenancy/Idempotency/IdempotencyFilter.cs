using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Monolith.SharedKernel.Context;
using Monolith.SharedKernel.Http;
using Monolith.SharedKernel.Http.OpenApi;
using Monolith.Tenancy.Isolation;
using Npgsql;

namespace Monolith.Tenancy.Idempotency;

public static class IdempotencyEndpointExtensions
{
    /// <summary>
    /// Honours <c>Idempotency-Key</c> on a POST endpoint (CONTRACT §2). <typeparamref name="TBody"/> is the endpoint's
    /// body parameter type: the fingerprint covers the method, the path and that body as bound (so whitespace or
    /// member order do not make two requests different). Endpoints that write through
    /// <see cref="TenantTransaction.BeginAsync"/> commit in the same transaction as the recorded response.
    /// </summary>
    public static RouteHandlerBuilder WithIdempotency<TBody>(this RouteHandlerBuilder builder) =>
        builder.WithKeyedBody<TBody>(IdempotencyStore.Tenant, []).DescribeIdempotency();

    /// <summary>
    /// <c>Idempotency-Key</c> on a platform POST, recorded in <c>platform.idempotency_keys</c>. The endpoint does its own
    /// writes (provisioning is not one transaction), so the response is recorded right after it, under the key's lock:
    /// a concurrent duplicate waits and replays it. <paramref name="secrets"/> are JSON paths (<c>owner.password</c>)
    /// recorded as null: a replay never repeats a secret the first answer carried once.
    /// </summary>
    public static RouteHandlerBuilder WithPlatformIdempotency<TBody>(this RouteHandlerBuilder builder, params string[] secrets) =>
        builder.WithKeyedBody<TBody>(IdempotencyStore.Platform, secrets).DescribeIdempotency();

    /// <summary><see cref="WithPlatformIdempotency{TBody}"/> for a POST without a body: the request is its method and path.</summary>
    public static RouteHandlerBuilder WithPlatformIdempotency(this RouteHandlerBuilder builder) =>
        builder.AddEndpointFilter((context, next) => IdempotencyFilter.InvokeAsync(context, next, -1, null, IdempotencyStore.Platform, []))
            .DescribeIdempotency();

    /// <summary>For the API document: the header, a malformed key (400) and a key reused with another request (422).</summary>
    private static RouteHandlerBuilder DescribeIdempotency(this RouteHandlerBuilder builder) =>
        builder.WithMetadata(new HeaderParameterMetadata(IdempotencyFilter.HeaderName,
                "Replays the first response of a request sent again with the same key and body within 24 hours."))
            .ProducesValidation()
            .ProducesProblems(StatusCodes.Status422UnprocessableEntity, "idempotency-key-reused");

    /// <summary>The filter, fingerprinting the endpoint's <typeparamref name="TBody"/> parameter as bound.</summary>
    private static RouteHandlerBuilder WithKeyedBody<TBody>(this RouteHandlerBuilder builder, IdempotencyStore store, string[] secrets) =>
        builder.AddEndpointFilterFactory((factory, next) =>
        {
            var index = Array.FindIndex(factory.MethodInfo.GetParameters(), p => p.ParameterType == typeof(TBody));
            if (index < 0)
            {
                throw new InvalidOperationException(
                    $"{factory.MethodInfo.Name} has no parameter of type {typeof(TBody).Name} for an Idempotency-Key filter on {typeof(TBody).Name}.");
            }

            return context => IdempotencyFilter.InvokeAsync(context, next, index, typeof(TBody), store, secrets);
        });
}

/// <summary>Where the recorded responses live: the tenant's schema (in the endpoint's transaction) or the platform schema.</summary>
internal enum IdempotencyStore
{
    Tenant,
    Platform,
}

/// <summary>
/// The same key from the same caller with the same request within <see cref="Lifetime"/> replays the first
/// successful response (status, body, Location, ETag) with <c>Idempotent-Replayed: true</c>; with another request it
/// is 422. Concurrent requests with one key are serialized on a transaction-scoped advisory lock, so the second
/// waits for the first and replays it. Only 2xx responses are recorded: a refused request (400, 409...) changed
/// nothing, so the client may correct it and send it again under the same key.
/// </summary>
internal static class IdempotencyFilter
{
    public const string HeaderName = "Idempotency-Key";
    public const string ReplayedHeaderName = "Idempotent-Replayed";
    public const int MaxKeyLength = 255;
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(24);

    internal static async ValueTask<object?> InvokeAsync(
        EndpointFilterInvocationContext context, EndpointFilterDelegate next, int bodyIndex, Type? bodyType, IdempotencyStore store, string[] secrets)
    {
        var http = context.HttpContext;
        var values = http.Request.Headers[HeaderName];
        if (values.Count == 0)
        {
            return await next(context);
        }

        var key = values.ToString();
        if (values.Count > 1 || !IsValidKey(key))
        {
            return Problems.Validation(HeaderName, $"{HeaderName} must be one value of 1 to {MaxKeyLength} visible ASCII characters.");
        }

        var ct = http.RequestAborted;
        var platform = store == IdempotencyStore.Platform;
        var scope = platform ? ActorKinds.Platform : ScopeOf(http);
        var fingerprint = Fingerprint(http, bodyIndex < 0 ? null : context.Arguments[bodyIndex], bodyType);

        await using var unit = await Unit.BeginAsync(http, platform, ct);
        var (connection, transaction) = (unit.Connection, unit.Transaction);
        var table = platform ? "platform.idempotency_keys" : "idempotency_keys";

        await using (var command = new NpgsqlCommand(
            $"SELECT pg_advisory_xact_lock(hashtextextended({(platform ? "'platform'" : "current_schema()")} || '/idempotency/' || $1 || '/' || $2, 0))",
            connection, transaction))
        {
            command.Parameters.AddWithValue(scope);
            command.Parameters.AddWithValue(key);
            await command.ExecuteNonQueryAsync(ct);
        }

        var stored = await FindAsync(connection, transaction, table, scope, key, ct);
        if (stored is not null)
        {
            if (!CryptographicOperations.FixedTimeEquals(stored.Fingerprint, fingerprint))
            {
                return Problems.Unprocessable("idempotency-key-reused",
                    $"This {HeaderName} was already used with a different request within the last {Lifetime.TotalHours:0} hours; use a new key for a new request.");
            }

            return new ReplayResult(stored);
        }

        object? result;
        http.Features.Set<AmbientTransaction?>(platform ? null : new AmbientTransaction(connection, transaction));
        try
        {
            result = await next(context);
        }
        finally
        {
            http.Features.Set<AmbientTransaction?>(null);
        }

        if (result is not IResult endpointResult)
        {
            await transaction.CommitAsync(ct);
            return result;
        }

        // Render the response into memory, record it with the endpoint's writes, commit, then send it.
        var response = http.Response;
        var original = response.Body;
        using var buffer = new MemoryStream();
        response.Body = buffer;
        try
        {
            await endpointResult.ExecuteAsync(http);
        }
        finally
        {
            response.Body = original;
        }

        var body = buffer.ToArray();
        if (response.StatusCode is >= 200 and < 300)
        {
            await using var insert = new NpgsqlCommand(
                $"""
                 INSERT INTO {table} (scope, key, fingerprint, status_code, content_type, location, etag, body)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 """, connection, transaction);
            insert.Parameters.AddWithValue(scope);
            insert.Parameters.AddWithValue(key);
            insert.Parameters.AddWithValue(fingerprint);
            insert.Parameters.AddWithValue(response.StatusCode);
            insert.Parameters.AddWithValue((object?)NullIfEmpty(response.ContentType) ?? DBNull.Value);
            insert.Parameters.AddWithValue((object?)NullIfEmpty(response.Headers.Location.ToString()) ?? DBNull.Value);
            insert.Parameters.AddWithValue((object?)NullIfEmpty(response.Headers.ETag.ToString()) ?? DBNull.Value);
            insert.Parameters.AddWithValue(secrets.Length == 0 ? body : WithoutSecrets(body, secrets));
            await insert.ExecuteNonQueryAsync(ct);
            await transaction.CommitAsync(ct);
        }
        else
        {
            await transaction.RollbackAsync(ct);
        }

        return new BufferedResult(body);
    }

    /// <summary>Removes the platform's keys past their lifetime (the daily purge job); a tenant's are removed when seen again.</summary>
    public static async Task RemoveExpiredPlatformKeysAsync(PlatformDatabase platform, CancellationToken ct)
    {
        await using var command = platform.DataSource.CreateCommand("DELETE FROM platform.idempotency_keys WHERE created_at < now() - $1");
        command.Parameters.AddWithValue(Lifetime);
        await command.ExecuteNonQueryAsync(ct);
    }

    internal static bool IsValidKey(string key) =>
        key.Length is > 0 and <= MaxKeyLength && key.All(c => c is >= '!' and <= '~');

    /// <summary>Keys are per caller: one user's key never replays another user's response.</summary>
    private static string ScopeOf(HttpContext http)
    {
        var operation = OperationContext.Current;
        if (operation?.ActorId is { } actorId)
        {
            return "user:" + actorId.ToString("D");
        }

        var subject = http.User.FindFirstValue("sub") ?? http.User.FindFirstValue(ClaimTypes.NameIdentifier);
        return subject is not null ? "user:" + subject : operation?.ActorKind ?? ActorKinds.Anonymous;
    }

    private static byte[] Fingerprint(HttpContext http, object? body, Type? bodyType)
    {
        var options = http.RequestServices.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;
        var head = Encoding.UTF8.GetBytes($"{http.Request.Method}\n{http.Request.Path.Value}\n");
        var json = bodyType is null ? [] : JsonSerializer.SerializeToUtf8Bytes(body, bodyType, options);
        return SHA256.HashData([.. head, .. json]);
    }

    /// <summary>The JSON body with each path (<c>owner.password</c>) set to null; a body that is not JSON is recorded empty.</summary>
    private static byte[] WithoutSecrets(byte[] body, string[] paths)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(body);
        }
        catch (JsonException)
        {
            return [];
        }

        foreach (var path in paths)
        {
            var names = path.Split('.');
            var node = root;
            foreach (var name in names[..^1])
            {
                node = node is JsonObject parent ? FindMember(parent, name) : null;
            }

            if (node is JsonObject holder && holder.FirstOrDefault(m => string.Equals(m.Key, names[^1], StringComparison.OrdinalIgnoreCase)).Key is { } member)
            {
                holder[member] = null;
            }
        }

        return Encoding.UTF8.GetBytes(root?.ToJsonString() ?? "null");
    }

    private static JsonNode? FindMember(JsonObject parent, string name) =>
        parent.FirstOrDefault(m => string.Equals(m.Key, name, StringComparison.OrdinalIgnoreCase)).Value;

    private static async Task<StoredResponse?> FindAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, string table, string scope, string key, CancellationToken ct)
    {
        await using (var purge = new NpgsqlCommand(
            $"DELETE FROM {table} WHERE scope = $1 AND key = $2 AND created_at < now() - $3", connection, transaction))
        {
            purge.Parameters.AddWithValue(scope);
            purge.Parameters.AddWithValue(key);
            purge.Parameters.AddWithValue(Lifetime);
            await purge.ExecuteNonQueryAsync(ct);
        }

        await using var command = new NpgsqlCommand(
            $"SELECT fingerprint, status_code, content_type, location, etag, body FROM {table} WHERE scope = $1 AND key = $2",
            connection, transaction);
        command.Parameters.AddWithValue(scope);
        command.Parameters.AddWithValue(key);
        await using var reader = await command.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct))
        {
            return null;
        }

        return new StoredResponse(
            reader.GetFieldValue<byte[]>(0),
            reader.GetInt32(1),
            reader.IsDBNull(2) ? null : reader.GetString(2),
            reader.IsDBNull(3) ? null : reader.GetString(3),
            reader.IsDBNull(4) ? null : reader.GetString(4),
            reader.GetFieldValue<byte[]>(5));
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    /// <summary>The connection and transaction the key's lock, lookup and record live in.</summary>
    private sealed class Unit(NpgsqlConnection connection, NpgsqlTransaction transaction, IAsyncDisposable owner) : IAsyncDisposable
    {
        public NpgsqlConnection Connection { get; } = connection;

        public NpgsqlTransaction Transaction { get; } = transaction;

        public static async Task<Unit> BeginAsync(HttpContext http, bool platform, CancellationToken ct)
        {
            if (!platform)
            {
                var tenant = await http.RequestServices.GetRequiredService<TenantDatabase>().BeginAsync(ct);
                return new Unit(tenant.Connection, tenant.Transaction, tenant);
            }

            var connection = await http.RequestServices.GetRequiredService<PlatformDatabase>().OpenConnectionAsync(ct);
            try
            {
                return new Unit(connection, await connection.BeginTransactionAsync(ct), connection);
            }
            catch
            {
                await connection.DisposeAsync();
                throw;
            }
        }

        public async ValueTask DisposeAsync()
        {
            await Transaction.DisposeAsync();
            await owner.DisposeAsync();
        }
    }

    private sealed record StoredResponse(byte[] Fingerprint, int StatusCode, string? ContentType, string? Location, string? ETag, byte[] Body);

    private sealed class ReplayResult(StoredResponse stored) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            var response = httpContext.Response;
            response.StatusCode = stored.StatusCode;
            response.Headers[ReplayedHeaderName] = "true";
            if (stored.ContentType is not null)
            {
                response.ContentType = stored.ContentType;
            }

            if (stored.Location is not null)
            {
                response.Headers.Location = stored.Location;
            }

            if (stored.ETag is not null)
            {
                response.Headers.ETag = stored.ETag;
            }

            response.ContentLength = stored.Body.Length;
            await response.Body.WriteAsync(stored.Body, httpContext.RequestAborted);
        }
    }

    /// <summary>Sends what the endpoint's result rendered (status and headers are already on the response).</summary>
    private sealed class BufferedResult(byte[] body) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            if (body.Length > 0)
            {
                httpContext.Response.ContentLength = body.Length;
                await httpContext.Response.Body.WriteAsync(body, httpContext.RequestAborted);
            }
        }
    }
}
