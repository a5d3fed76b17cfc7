using Monolith.Access;
using Monolith.Customers;
using Monolith.Auditing;
using Monolith.Host;
using Monolith.SharedKernel.Http;
using Monolith.SharedKernel.Http.OpenApi;
using Monolith.SharedKernel.Secrets;
using Monolith.Tenancy;
using Monolith.Toggles;

var builder = WebApplication.CreateBuilder(args);
builder.RefuseWeakSecretsInProduction();
builder.AddObservability();
builder.Services.AddHttpConventions(builder.Configuration);
builder.Services.AddApiDocument();
builder.AddTenancy();
builder.AddAccess();
builder.AddCustomers();
builder.AddAuditing();
builder.AddToggles();
builder.AddTelemetry();     // OpenTelemetry: /metrics, and OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set

var app = builder.Build();
app.UseForwardedHeaders();  // X-Forwarded-For from the proxies named in ForwardedHeaders__KnownProxies only
app.UseRequestId();         // X-Request-Id
app.UseObservability();     // one log line per request, with the status its client got
app.UseProblems();          // exceptions and bare status codes as problems
app.UseClientAborts();      // a client that goes away mid-request is logged as such, not as a 500
app.UseCrossOrigin();       // CORS: preflights are answered here, before authentication and tenant resolution
app.UseUnicodeText();       // NUL or an unpaired surrogate anywhere in the request: 400
app.UseAuthentication();
app.UseTenantResolution();
app.UseAuthenticatedUser();
app.UseAuthorization();
app.UseRateLimiter();
app.UseTenantBounds();

app.MapTenancy();
app.MapAccess();
app.MapCustomers();
app.MapAuditing();
app.MapToggles();
app.MapOperations();
app.MapTelemetry();

app.Run();

public partial class Program;
