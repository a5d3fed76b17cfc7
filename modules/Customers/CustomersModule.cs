using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Monolith.Customers.Assignments;
using Monolith.Customers.Contracts;
using Monolith.Customers.CustomerRecords;
using Monolith.Customers.Projects;
using Monolith.Customers.Warehouses;
using Monolith.SharedKernel.Context;
using Monolith.SharedKernel.Events;
using Monolith.Tenancy.Idempotency;
using Monolith.Tenancy.Resolution;

namespace Monolith.Customers;

/// <summary>Customers, their projects and warehouses (CONTRACT §5 "Customers"). Viewer reads, member writes, admin deletes.</summary>
public static class CustomersModule
{
    public static IHostApplicationBuilder AddCustomers(this IHostApplicationBuilder builder)
    {
        builder.Services.TryAddScoped<InProcessEvents>();
        builder.Services.AddSingleton<IProjectLookup, ProjectLookup>();
        return builder;
    }

    public static IEndpointRouteBuilder MapCustomers(this IEndpointRouteBuilder app)
    {
        var customers = app.MapGroup("/customers").RequireTenant().WithTags("Customers");
        customers.MapGet("/", ListCustomers.HandleAsync).RequireAuthorization(Policies.Viewer);
        customers.MapPost("/", CreateCustomer.HandleAsync).RequireAuthorization(Policies.Member).WithIdempotency<CreateCustomerRequest>();
        customers.MapGet("/{id:guid}", CustomerEndpoints.GetAsync).RequireAuthorization(Policies.Viewer);
        customers.MapPut("/{id:guid}", CustomerEndpoints.PutAsync).RequireAuthorization(Policies.Member);
        customers.MapPatch("/{id:guid}", CustomerEndpoints.PatchAsync).RequireAuthorization(Policies.Member);
        customers.MapDelete("/{id:guid}", CustomerEndpoints.DeleteAsync).RequireAuthorization(Policies.Admin);

        customers.MapGet("/{customerId:guid}/projects", ProjectEndpoints.ListAsync).RequireAuthorization(Policies.Viewer);
        customers.MapPost("/{customerId:guid}/projects", ProjectEndpoints.CreateAsync)
            .RequireAuthorization(Policies.Member).WithIdempotency<NewProjectRequest>();
        customers.MapGet("/{customerId:guid}/warehouses", WarehouseEndpoints.ListAsync).RequireAuthorization(Policies.Viewer);
        customers.MapPost("/{customerId:guid}/warehouses", WarehouseEndpoints.CreateAsync)
            .RequireAuthorization(Policies.Member).WithIdempotency<NewWarehouseRequest>();

        var projects = app.MapGroup("/projects").RequireTenant().WithTags("Projects");
        projects.MapGet("/{id:guid}", ProjectEndpoints.GetAsync).RequireAuthorization(Policies.Viewer);
        projects.MapPatch("/{id:guid}", ProjectEndpoints.PatchAsync).RequireAuthorization(Policies.Member);
        projects.MapDelete("/{id:guid}", ProjectEndpoints.DeleteAsync).RequireAuthorization(Policies.Admin);
        projects.MapGet("/{id:guid}/warehouses", AssignmentEndpoints.ListAsync).RequireAuthorization(Policies.Viewer);
        projects.MapPut("/{id:guid}/warehouses/{warehouseId:guid}", AssignmentEndpoints.AssignAsync).RequireAuthorization(Policies.Member);
        projects.MapDelete("/{id:guid}/warehouses/{warehouseId:guid}", AssignmentEndpoints.UnassignAsync).RequireAuthorization(Policies.Member);

        var warehouses = app.MapGroup("/warehouses").RequireTenant().WithTags("Warehouses");
        warehouses.MapGet("/{id:guid}", WarehouseEndpoints.GetAsync).RequireAuthorization(Policies.Viewer);
        warehouses.MapPatch("/{id:guid}", WarehouseEndpoints.PatchAsync).RequireAuthorization(Policies.Member);
        warehouses.MapDelete("/{id:guid}", WarehouseEndpoints.DeleteAsync).RequireAuthorization(Policies.Admin);
        return app;
    }
}
