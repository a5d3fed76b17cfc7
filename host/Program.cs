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
builder.AddAuditing();

var app = builder.Build();
app.UseHttpConventions();
app.UseObservability();
app.UseTenantResolution();

app.MapTenancy();
app.MapAuditing();
app.MapOperations();
app.MapBenchEndpoints();

app.Run();

public partial class Program;
