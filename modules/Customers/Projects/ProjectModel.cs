using Monolith.Customers.Common;
using Monolith.SharedKernel.Validation;
using Monolith.Tenancy.Idempotency;
using Npgsql;

namespace Monolith.Customers.Projects;

internal sealed record NewProjectRequest(string? Name, string? Code);

internal sealed record ProjectResponse(Guid Id, Guid CustomerId, string Name, string? Code, string Status, DateTime CreatedAt, DateTime UpdatedAt);

internal static class ProjectRules
{
    public static void Validate(ValidationErrors errors, string prefix, string? name, string? code, bool nameRequired)
    {
        Rules.Text(errors, prefix + "name", name, Rules.NameMax, nameRequired);
        Rules.Text(errors, prefix + "code", code, Rules.CodeMax, required: false);
    }
}

internal static class ProjectStore
{
    public const string Columns = "id, customer_id, name, code, status, created_at, updated_at, xmin";
    public const string CodeTaken = "projects_code_unique";

    public static string CodeTakenDetail(string code) =>
        $"The customer already has a project with the code '{code}' (codes are unique within a customer, ignoring case).";

    public static (ProjectResponse Project, uint Version) Read(NpgsqlDataReader reader) =>
        (new ProjectResponse(
            reader.GetGuid(0),
            reader.GetGuid(1),
            reader.GetString(2),
            reader.NullableString(3),
            reader.GetString(4),
            reader.GetDateTime(5),
            reader.GetDateTime(6)),
         reader.GetFieldValue<uint>(7));

    public static async Task<(ProjectResponse Project, uint Version)> InsertAsync(TenantTransaction work, Guid customerId, string name, string? code, CancellationToken ct)
    {
        await using var insert = work.Command($"INSERT INTO projects (id, customer_id, name, code) VALUES ($1, $2, $3, $4) RETURNING {Columns}");
        insert.With(Guid.CreateVersion7()).With(customerId).With(name).With(code);
        await using var reader = await insert.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        return Read(reader);
    }

    public static async Task<(ProjectResponse Project, uint Version)?> FindAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, Guid id, RowLock rowLock, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand($"SELECT {Columns} FROM projects WHERE id = $1{rowLock.Clause()}", connection, transaction);
        command.With(id);
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? Read(reader) : null;
    }
}
