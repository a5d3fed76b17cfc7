using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Monolith.Customers.Common;
using Monolith.Customers.Contracts;
using Monolith.SharedKernel.Events;
using Monolith.SharedKernel.Http;
using Monolith.SharedKernel.Paging;
using Monolith.SharedKernel.Validation;
using Monolith.Tenancy.Idempotency;
using Monolith.Tenancy.Isolation;
using Npgsql;

namespace Monolith.Customers.Projects;

internal sealed record PatchProjectRequest(JsonElement Name, JsonElement Code, JsonElement Status);

/// <summary>
/// GET/POST /customers/{id}/projects, GET/PATCH/DELETE /projects/{id}. A customer's last project cannot be
/// deleted (409): the count is taken with the customer row locked, so two concurrent deletes cannot both pass.
/// </summary>
internal static class ProjectEndpoints
{
    public static async Task<Results<Ok<Page<ProjectResponse>>, ValidationProblem, ProblemHttpResult>> ListAsync(
        Guid customerId, HttpContext http, TenantDatabase database, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        ListQuery.RejectUnknownParameters(http.Request, errors, "limit", "cursor");
        var (page, after) = Lists.IdPage(http, errors);
        if (errors.Any)
        {
            return Problems.Validation(errors);
        }

        await using var session = await database.BeginAsync(ct);
        var connection = session.Connection;
        var rows = await Lists.ReadChildRowsAsync(connection, ListSql(after is not null), customerId, page, after, reader => ProjectStore.Read(reader).Project, ct);

        if (rows.Count == 0 && !await CustomerExistsAsync(connection, customerId, ct))
        {
            return Problems.NotFound("No customer with that id.");
        }

        return TypedResults.Ok(page.ToPage(rows, p => new IdCursor(p.Id)));
    }

    internal static string ListSql(bool afterCursor) =>
        $"SELECT {ProjectStore.Columns} FROM projects WHERE customer_id = $1{(afterCursor ? " AND id > $3" : "")} ORDER BY id LIMIT $2";

    public static async Task<Results<Created<ProjectResponse>, ValidationProblem, ProblemHttpResult>> CreateAsync(
        Guid customerId, NewProjectRequest request, HttpContext http, TenantDatabase database, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        ProjectRules.Validate(errors, "", request.Name, request.Code, nameRequired: true);
        if (errors.Any)
        {
            return Problems.Validation(errors);
        }

        await using var work = await TenantTransaction.BeginAsync(http, database, ct);
        (ProjectResponse Project, uint Version) created;
        try
        {
            created = await ProjectStore.InsertAsync(work, customerId, request.Name!, request.Code, ct);
        }
        catch (PostgresException e) when (e.IsForeignKeyViolation())
        {
            return Problems.NotFound("No customer with that id.");
        }
        catch (PostgresException e) when (e.IsUniqueViolation(ProjectStore.CodeTaken))
        {
            return Problems.Conflict("project-code-taken", ProjectStore.CodeTakenDetail(request.Code!));
        }

        await work.CommitAsync(ct);
        ETags.Set(http, created.Version);
        return TypedResults.Created($"/projects/{created.Project.Id}", created.Project);
    }

    public static async Task<Results<Ok<ProjectResponse>, ProblemHttpResult>> GetAsync(
        Guid id, HttpContext http, TenantDatabase database, CancellationToken ct)
    {
        await using var session = await database.BeginAsync(ct);
        var connection = session.Connection;
        if (await ProjectStore.FindAsync(connection, null, id, RowLock.None, ct) is not { } found)
        {
            return Problems.NotFound("No project with that id.");
        }

        ETags.Set(http, found.Version);
        return TypedResults.Ok(found.Project);
    }

    public static async Task<Results<Ok<ProjectResponse>, ValidationProblem, ProblemHttpResult>> PatchAsync(
        Guid id, PatchProjectRequest request, HttpContext http, TenantDatabase database, CancellationToken ct)
    {
        await using var work = await TenantTransaction.BeginAsync(http, database, ct);
        if (await ProjectStore.FindAsync(work.Connection, work.Transaction, id, RowLock.ForChange, ct) is not { } found)
        {
            return Problems.NotFound("No project with that id.");
        }

        if (!ETags.IfMatchAllows(http, found.Version))
        {
            return Problems.PreconditionFailed();
        }

        var current = found.Project;
        var errors = new ValidationErrors();
        var name = current.Name;
        var code = current.Code;
        var status = current.Status;
        if (Patch.IsPresent(request.Name) && Patch.TryString(errors, "name", request.Name, out var newName))
        {
            Rules.Text(errors, "name", newName, Rules.NameMax, required: true);
            name = newName ?? name;
        }

        if (Patch.IsPresent(request.Code) && Patch.TryString(errors, "code", request.Code, out var newCode))
        {
            Rules.Text(errors, "code", newCode, Rules.CodeMax, required: false);
            code = newCode;
        }

        if (Patch.IsPresent(request.Status) && Patch.TryString(errors, "status", request.Status, out var newStatus))
        {
            Rules.OneOf(errors, "status", newStatus, Rules.ProjectStatuses, required: true);
            status = newStatus ?? status;
        }

        if (errors.Any)
        {
            return Problems.Validation(errors);
        }

        if (name == current.Name && code == current.Code && status == current.Status)
        {
            ETags.Set(http, found.Version);
            return TypedResults.Ok(current);
        }

        (ProjectResponse Project, uint Version) updated;
        try
        {
            await using var update = work.Command(
                $"UPDATE projects SET name = $2, code = $3, status = $4, updated_at = now() WHERE id = $1 RETURNING {ProjectStore.Columns}");
            update.With(id).With(name).With(code).With(status);
            await using var reader = await update.ExecuteReaderAsync(ct);
            await reader.ReadAsync(ct);
            updated = ProjectStore.Read(reader);
        }
        catch (PostgresException e) when (e.IsUniqueViolation(ProjectStore.CodeTaken))
        {
            return Problems.Conflict("project-code-taken", ProjectStore.CodeTakenDetail(code!));
        }

        await work.CommitAsync(ct);
        ETags.Set(http, updated.Version);
        return TypedResults.Ok(updated.Project);
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(
        Guid id, HttpContext http, TenantDatabase database, InProcessEvents events, CancellationToken ct)
    {
        await using var work = await TenantTransaction.BeginAsync(http, database, ct);

        // Lock the owning customer first (the same order as a customer delete), then the project.
        await using (var lockCustomer = work.Command(
            "SELECT 1 FROM customers WHERE id = (SELECT customer_id FROM projects WHERE id = $1) FOR NO KEY UPDATE"))
        {
            lockCustomer.With(id);
            await lockCustomer.ExecuteScalarAsync(ct);
        }

        if (await ProjectStore.FindAsync(work.Connection, work.Transaction, id, RowLock.ForDelete, ct) is not { } found)
        {
            return Problems.NotFound("No project with that id.");
        }

        if (!ETags.IfMatchAllows(http, found.Version))
        {
            return Problems.PreconditionFailed();
        }

        await using (var count = work.Command("SELECT count(*) FROM projects WHERE customer_id = $1"))
        {
            count.With(found.Project.CustomerId);
            if ((long)(await count.ExecuteScalarAsync(ct))! <= 1)
            {
                return Problems.Conflict("last-project",
                    "This is the customer's last project and a customer always has at least one: create another project first, or delete the customer.");
            }
        }

        // Published before the rows go, in the same transaction: handlers can still read the projects, and
        // anything they keep about them is removed (or kept) together with them.
        await events.PublishAsync(new ProjectsDeleted([id]), work.Transaction, ct);
        await using (var delete = work.Command("DELETE FROM projects WHERE id = $1"))
        {
            delete.With(id);
            await delete.ExecuteNonQueryAsync(ct);
        }

        await work.CommitAsync(ct);
        return TypedResults.NoContent();
    }

    internal static async Task<bool> CustomerExistsAsync(NpgsqlConnection connection, Guid customerId, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand("SELECT EXISTS (SELECT 1 FROM customers WHERE id = $1)", connection);
        command.With(customerId);
        return (bool)(await command.ExecuteScalarAsync(ct))!;
    }
}
