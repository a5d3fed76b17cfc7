using System.Reflection;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Monolith.Access;
using Monolith.Auditing;
using Monolith.Customers;
using Monolith.Tenancy;
using Monolith.Tests.Support;
using Monolith.Toggles;

namespace Monolith.Tests.Architecture;

/// <summary>
/// Every Minimal API endpoint that the host maps from our code (modules and host) returns <c>TypedResults</c>: its
/// handler's return type, or the T of its Task&lt;T&gt;/ValueTask&lt;T&gt;, is an <see cref="IResult"/> from
/// <c>Microsoft.AspNetCore.Http.HttpResults</c> (Ok&lt;T&gt;, Results&lt;…&gt;, ProblemHttpResult, …); never a bare
/// IResult, object, a DTO or a Task that writes the response itself. Read from the endpoints the running host built
/// (each carries its handler's MethodInfo), so lambdas and MapGroup endpoints count too. Endpoints mapped by libraries
/// (OpenAPI, Scalar, Hangfire's dashboard, health checks) are not ours and are left out.
/// </summary>
[Collection(IntegrationCollection.Name)]
[Trait("Category", Categories.Integration)]
public sealed class EndpointResultTests(MonolithFixture fixture)
{
    private static readonly Assembly[] Ours =
    [
        typeof(Program).Assembly,
        typeof(TenancyModule).Assembly,
        typeof(AccessModule).Assembly,
        typeof(CustomersModule).Assembly,
        typeof(AuditingModule).Assembly,
        typeof(TogglesModule).Assembly,
    ];

    [Fact]
    public void Every_endpoint_of_ours_returns_typed_results()
    {
        var handlers = fixture.Service<EndpointDataSource>().Endpoints
            .OfType<RouteEndpoint>()
            .Select(e => (Route: e.DisplayName ?? e.RoutePattern.RawText, Handler: e.Metadata.GetMetadata<MethodInfo>()))
            .Where(e => e.Handler?.DeclaringType is { } type && Ours.Contains(type.Assembly))
            .ToList();
        // Not vacuous: the host maps dozens of endpoints from every module.
        Assert.True(handlers.Count > 40, $"only {handlers.Count} endpoints found");
        Assert.All(Ours.Skip(1), module => Assert.Contains(handlers, h => h.Handler!.DeclaringType!.Assembly == module));

        var untyped = handlers
            .Where(h => !IsTypedResult(h.Handler!.ReturnType))
            .Select(h => $"{h.Route} → {h.Handler!.DeclaringType!.FullName}.{h.Handler.Name}: {h.Handler.ReturnType}")
            .ToList();

        Assert.True(untyped.Count == 0, "endpoints without TypedResults:\n" + string.Join("\n", untyped));
    }

    private static bool IsTypedResult(Type type)
    {
        if (type.IsGenericType && (type.GetGenericTypeDefinition() == typeof(Task<>) || type.GetGenericTypeDefinition() == typeof(ValueTask<>)))
        {
            type = type.GetGenericArguments()[0];
        }

        return typeof(IResult).IsAssignableFrom(type) && !type.IsInterface && type.Namespace == "Microsoft.AspNetCore.Http.HttpResults";
    }
}
