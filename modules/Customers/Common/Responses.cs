using Monolith.Customers.Data;

namespace Monolith.Customers.Common;

internal sealed record CustomerResponse(
    Guid Id, string Name, string? LegalName, string Email, string? Phone, string Status, DateTime CreatedAt, DateTime UpdatedAt)
{
    public static CustomerResponse From(Customer c) => new(c.Id, c.Name, c.LegalName, c.Email, c.Phone, c.Status, c.CreatedAt, c.UpdatedAt);
}

internal sealed record ProjectResponse(Guid Id, Guid CustomerId, string Name, string? Code, string Status, DateTime CreatedAt, DateTime UpdatedAt)
{
    public static ProjectResponse From(Project p) => new(p.Id, p.CustomerId, p.Name, p.Code, p.Status, p.CreatedAt, p.UpdatedAt);
}

internal sealed record WarehouseResponse(
    Guid Id, Guid CustomerId, string Name, string Address, string Country, int Capacity, DateTime CreatedAt, DateTime UpdatedAt)
{
    public static WarehouseResponse From(Warehouse w) => new(w.Id, w.CustomerId, w.Name, w.Address, w.Country, w.Capacity, w.CreatedAt, w.UpdatedAt);
}

/// <summary>The messages several use cases answer with.</summary>
internal static class Messages
{
    public const string NoCustomer = "No customer with that id.";
    public const string NoProject = "No project with that id.";
    public const string NoWarehouse = "No warehouse with that id.";

    public const string CustomerEmailTaken = "customers_email_unique";
    public const string ProjectCodeTaken = "projects_code_unique";

    public static string CustomerEmailTakenDetail(string email) =>
        $"A customer with the e-mail address '{email}' already exists in this tenant (e-mail addresses are compared ignoring case).";

    public static string ProjectCodeTakenDetail(string code) =>
        $"The customer already has a project with the code '{code}' (codes are unique within a customer, ignoring case).";
}
