using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Monolith.Customers.AssignWarehouse;
using Monolith.Customers.Contracts;
using Monolith.Customers.CreateCustomer;
using Monolith.Customers.CreateProject;
using Monolith.Customers.CreateWarehouse;
using Monolith.Customers.Data;
using Monolith.Customers.DeleteCustomer;
using Monolith.Customers.DeleteProject;
using Monolith.Customers.DeleteWarehouse;
using Monolith.Customers.GetCustomer;
using Monolith.Customers.GetProject;
using Monolith.Customers.GetWarehouse;
using Monolith.Customers.ListCustomers;
using Monolith.Customers.ListProjectWarehouses;
using Monolith.Customers.ListProjects;
using Monolith.Customers.ListWarehouses;
using Monolith.Customers.UnassignWarehouse;
using Monolith.Customers.UpdateCustomer;
using Monolith.Customers.UpdateProject;
using Monolith.Customers.UpdateWarehouse;
using Monolith.SharedKernel.Context;
using Monolith.SharedKernel.Events;
using Monolith.SharedKernel.Http.OpenApi;
using Monolith.Tenancy.Idempotency;
using Monolith.Tenancy.Isolation;
using Monolith.Tenancy.Resolution;

namespace Monolith.Customers;

/// <summary>Customers, their projects and warehouses (CONTRACT §5 "Customers"). Viewer reads, member writes, admin deletes.</summary>
public static class CustomersModule
{
    public static IHostApplicationBuilder AddCustomers(this IHostApplicationBuilder builder)
    {
        builder.Services.TryAddScoped<InProcessEvents>();
        builder.Services.AddTenantDbContext<CustomersDbContext>();
        builder.Services.AddSingleton<CustomersDatabase>();
        builder.Services.AddSingleton<IProjectLookup, ProjectLookup>();
        return builder;
    }

    public static IEndpointRouteBuilder MapCustomers(this IEndpointRouteBuilder app)
    {
        var customers = app.MapGroup("/customers").RequireTenant().WithTags("Customers");
        customers.MapGet("/", ListCustomersEndpoint.HandleAsync).RequireAuthorization(Policies.Viewer).AcceptsQuery("q", "status", "sort").AcceptsPaging();
        customers.MapPost("/", CreateCustomerEndpoint.HandleAsync).RequireAuthorization(Policies.Member).WithIdempotency<CreateCustomerRequest>()
            .ProducesProblems(StatusCodes.Status409Conflict, "customer-email-taken");
        customers.MapGet("/{id:guid}", GetCustomerEndpoint.HandleAsync).RequireAuthorization(Policies.Viewer).ProducesNotFound();
        customers.MapPut("/{id:guid}", ReplaceCustomerEndpoint.HandleAsync).RequireAuthorization(Policies.Member)
            .ProducesNotFound().ProducesPreconditionFailed().ProducesProblems(StatusCodes.Status409Conflict, "customer-email-taken");
        customers.MapPatch("/{id:guid}", PatchCustomerEndpoint.HandleAsync).RequireAuthorization(Policies.Member)
            .ProducesNotFound().ProducesPreconditionFailed().ProducesProblems(StatusCodes.Status409Conflict, "customer-email-taken");
        customers.MapDelete("/{id:guid}", DeleteCustomerEndpoint.HandleAsync).RequireAuthorization(Policies.Admin).ProducesNotFound().ProducesPreconditionFailed();

        customers.MapGet("/{customerId:guid}/projects", ListProjectsEndpoint.HandleAsync).RequireAuthorization(Policies.Viewer).ProducesNotFound().AcceptsPaging();
        customers.MapPost("/{customerId:guid}/projects", CreateProjectEndpoint.HandleAsync)
            .RequireAuthorization(Policies.Member).WithIdempotency<CreateProjectRequest>()
            .ProducesNotFound().ProducesProblems(StatusCodes.Status409Conflict, "project-code-taken");
        customers.MapGet("/{customerId:guid}/warehouses", ListWarehousesEndpoint.HandleAsync).RequireAuthorization(Policies.Viewer).ProducesNotFound().AcceptsPaging();
        customers.MapPost("/{customerId:guid}/warehouses", CreateWarehouseEndpoint.HandleAsync)
            .RequireAuthorization(Policies.Member).WithIdempotency<CreateWarehouseRequest>().ProducesNotFound();

        var projects = app.MapGroup("/projects").RequireTenant().WithTags("Projects");
        projects.MapGet("/{id:guid}", GetProjectEndpoint.HandleAsync).RequireAuthorization(Policies.Viewer).ProducesNotFound();
        projects.MapPatch("/{id:guid}", PatchProjectEndpoint.HandleAsync).RequireAuthorization(Policies.Member)
            .ProducesNotFound().ProducesPreconditionFailed().ProducesProblems(StatusCodes.Status409Conflict, "project-code-taken");
        projects.MapDelete("/{id:guid}", DeleteProjectEndpoint.HandleAsync).RequireAuthorization(Policies.Admin)
            .ProducesNotFound().ProducesPreconditionFailed().ProducesProblems(StatusCodes.Status409Conflict, "last-project");
        projects.MapGet("/{id:guid}/warehouses", ListProjectWarehousesEndpoint.HandleAsync).RequireAuthorization(Policies.Viewer).ProducesNotFound().AcceptsPaging();
        projects.MapPut("/{id:guid}/warehouses/{warehouseId:guid}", AssignWarehouseEndpoint.HandleAsync).RequireAuthorization(Policies.Member)
            .ProducesNotFound().ProducesProblems(StatusCodes.Status409Conflict, "warehouse-of-another-customer");
        projects.MapDelete("/{id:guid}/warehouses/{warehouseId:guid}", UnassignWarehouseEndpoint.HandleAsync).RequireAuthorization(Policies.Member).ProducesNotFound();

        var warehouses = app.MapGroup("/warehouses").RequireTenant().WithTags("Warehouses");
        warehouses.MapGet("/{id:guid}", GetWarehouseEndpoint.HandleAsync).RequireAuthorization(Policies.Viewer).ProducesNotFound();
        warehouses.MapPatch("/{id:guid}", PatchWarehouseEndpoint.HandleAsync).RequireAuthorization(Policies.Member).ProducesNotFound().ProducesPreconditionFailed();
        warehouses.MapDelete("/{id:guid}", DeleteWarehouseEndpoint.HandleAsync).RequireAuthorization(Policies.Admin).ProducesNotFound().ProducesPreconditionFailed();
        return app;
    }
}
