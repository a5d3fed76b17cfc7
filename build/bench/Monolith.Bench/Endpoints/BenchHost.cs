using System.Net;
using System.Runtime.InteropServices;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Monolith.Bench.Endpoints;

/// <summary>
/// <c>Monolith.Bench host --urls http://127.0.0.1:PORT</c>: the shipped host (its own Program, configuration and
/// pipeline, through <see cref="WebApplicationFactory{TEntryPoint}"/> on Kestrel) plus the bench-only endpoints
/// under <c>/bench</c>. The shipped host has no bench endpoints and no switch to turn them on. Runs until SIGTERM
/// or SIGINT, then stops the host (its logs flushed) and exits 0.
/// </summary>
internal static class BenchHost
{
    public static async Task<int> RunAsync(string url)
    {
        var uri = new Uri(url);
        var address = uri.Host is "localhost" ? IPAddress.Loopback : IPAddress.Parse(uri.Host);
        await using var factory = new BenchHostFactory();
        factory.UseKestrel(options => options.Listen(address, uri.Port));
        factory.StartServer();

        var lifetime = factory.Services.GetRequiredService<IHostApplicationLifetime>();
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        Console.Error.WriteLine($"bench host listening on {url} (the shipped host plus /bench/*)");
        try
        {
            await Task.Delay(Timeout.Infinite, lifetime.ApplicationStopping);
        }
        catch (OperationCanceledException)
        {
            // stopping: the factory's disposal stops the host
        }

        return 0;

        void Stop(PosixSignalContext context)
        {
            context.Cancel = true;
            lifetime.StopApplication();
        }
    }

    private sealed class BenchHostFactory : WebApplicationFactory<Program>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            // The factory's default is Development; the bench runs as configured (the scripts say Production).
            builder.UseEnvironment(Environment.GetEnvironmentVariable("ASPNETCORE_ENVIRONMENT") ?? Environments.Production);
            // As the image runs it: the host's appsettings.json sits next to the binaries (copied with the host reference).
            builder.UseContentRoot(AppContext.BaseDirectory);
            builder.ConfigureServices(services => services.AddSingleton<IStartupFilter, BenchEndpointsFilter>());
        }
    }

    /// <summary>
    /// Puts the bench endpoints in front of the host's routing: a request for one of them gets its endpoint here,
    /// and the host's routing, which skips matching when an endpoint is already set, leaves it alone. Everything
    /// after (request id, request log, authentication, tenant resolution, authorization, rate limits) is the
    /// shipped pipeline, reading the bench endpoint's metadata as it would any other's.
    /// </summary>
    private sealed class BenchEndpointsFilter : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            var routes = new BenchRoutes(app.ApplicationServices);
            routes.MapBenchEndpoints();
            var endpoints = routes.DataSources.SelectMany(source => source.Endpoints).OfType<RouteEndpoint>()
                .SelectMany(endpoint => (endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? [])
                    .Select(method => (Key: $"{method} {endpoint.RoutePattern.RawText}", Endpoint: endpoint)))
                .ToDictionary(e => e.Key, e => e.Endpoint, StringComparer.OrdinalIgnoreCase);
            app.Use(async (context, nextMiddleware) =>
            {
                if (endpoints.TryGetValue($"{context.Request.Method} {context.Request.Path}", out var endpoint))
                {
                    context.SetEndpoint(endpoint);
                }

                await nextMiddleware(context);
            });
            next(app);
        };
    }

    /// <summary>A route builder of the bench's own: literal routes only, matched by <see cref="BenchEndpointsFilter"/>.</summary>
    private sealed class BenchRoutes(IServiceProvider services) : IEndpointRouteBuilder
    {
        public IServiceProvider ServiceProvider { get; } = services;

        public ICollection<EndpointDataSource> DataSources { get; } = [];

        public IApplicationBuilder CreateApplicationBuilder() => new ApplicationBuilder(ServiceProvider);
    }
}
