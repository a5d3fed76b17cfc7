using Monolith.Access;
using Monolith.Customers;
using Monolith.Auditing;
using Monolith.Host;
using Monolith.Host.Bench;
using Monolith.SharedKernel.Http;
using Monolith.Tenancy;
using Monolith.Toggles;

var builder = WebApplication.CreateBuilder(args);
builder.AddObservability();
builder.Services.AddHttpConventions();
builder.Services.AddOpenApi();
builder.AddTenancy();
builder.AddAccess();
builder.AddCustomers();
builder.AddAuditing();
builder.AddToggles();

var app = builder.Build();
app.UseForwardedHeaders();
app.UseHttpConventions();
app.UseObservability();
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
app.MapBenchEndpoints();

app.Run();

public partial class Program;
