using Monolith.Customers.Common;
using Monolith.Customers.Projects;
using Npgsql;

namespace Monolith.Customers.CustomerRecords;

internal sealed record CustomerResponse(
    Guid Id, string Name, string? LegalName, string Email, string? Phone, string Status, DateTime CreatedAt, DateTime UpdatedAt);

/// <summary>The answer to POST /customers: the customer with the projects it was created with.</summary>
internal sealed record CreatedCustomerResponse(
    Guid Id, string Name, string? LegalName, string Email, string? Phone, string Status, DateTime CreatedAt, DateTime UpdatedAt,
    IReadOnlyList<ProjectResponse> Projects);

/// <summary>The one column list every customer query reads, and its reader.</summary>
internal static class CustomerRow
{
    public const string Columns = "id, name, legal_name, email, phone, status, created_at, updated_at, xmin";

    public static (CustomerResponse Customer, uint Version) Read(NpgsqlDataReader reader) =>
        (new CustomerResponse(
            reader.GetGuid(0),
            reader.GetString(1),
            reader.NullableString(2),
            reader.GetString(3),
            reader.NullableString(4),
            reader.GetString(5),
            reader.GetDateTime(6),
            reader.GetDateTime(7)),
         reader.GetFieldValue<uint>(8));

    public const string EmailTaken = "customers_email_unique";

    public static string EmailTakenDetail(string email) =>
        $"A customer with the e-mail address '{email}' already exists in this tenant (e-mail addresses are compared ignoring case).";
}
