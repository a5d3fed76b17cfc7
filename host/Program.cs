using Monolith.Access;
using Monolith.Auditing;
using Monolith.Host;
using Monolith.Host.Bench;
using Monolith.SharedKernel.Http;
using Monolith.Tenancy;

var builder = WebApplication.CreateBuilder(args);
builder.AddObservability();
builder.Services.AddHttpConventions();
builder.Services.AddOpenApi();
builder.AddTenancy();
builder.AddAccess();
builder.AddAuditing();

var app = builder.Build();
app.UseHttpConventions();
app.UseObservability();
app.UseAuthentication();
app.UseAuthenticatedUser();
app.UseTenantResolution();
app.UseAuthorization();
app.UseRateLimiter();

app.MapTenancy();
app.MapAccess();
app.MapAuditing();
app.MapOperations();
app.MapBenchEndpoints();

app.Run();

public partial class Program;
