using Monolith.Customers;
using Monolith.Host;
using Monolith.Host.Bench;
using Monolith.SharedKernel.Http;
using Monolith.Tenancy;

var builder = WebApplication.CreateBuilder(args);
builder.AddObservability();
builder.Services.AddHttpConventions();
builder.Services.AddOpenApi();
builder.AddTenancy();
builder.AddCustomers();

var app = builder.Build();
app.UseHttpConventions();
app.UseObservability();
app.UseTenantResolution();

app.MapTenancy();
app.MapCustomers();
app.MapOperations();
app.MapBenchEndpoints();

app.Run();

public partial class Program;
