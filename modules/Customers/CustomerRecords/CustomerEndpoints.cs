using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Monolith.Customers.Common;
using Monolith.Customers.Contracts;
using Monolith.SharedKernel.Events;
using Monolith.SharedKernel.Http;
using Monolith.SharedKernel.Validation;
using Monolith.Tenancy.Idempotency;
using Monolith.Tenancy.Isolation;
using Npgsql;

namespace Monolith.Customers.CustomerRecords;

/// <summary>PUT replaces the editable fields: an absent optional field is cleared, an absent status is "active".</summary>
internal sealed record ReplaceCustomerRequest(string? Name, string? LegalName, string? Email, string? Phone, string? Status);

/// <summary>JSON merge patch (RFC 7396) of the editable fields.</summary>
internal sealed record PatchCustomerRequest(JsonElement Name, JsonElement LegalName, JsonElement Email, JsonElement Phone, JsonElement Status);

internal sealed record CustomerFields(string Name, string? LegalName, string Email, string? Phone, string Status);

/// <summary>GET/PUT/PATCH/DELETE /customers/{id}.</summary>
internal static class CustomerEndpoints
{
    public static async Task<Results<Ok<CustomerResponse>, ProblemHttpResult>> GetAsync(
        Guid id, HttpContext http, TenantDatabase database, CancellationToken ct)
    {
        await using var session = await database.BeginAsync(ct);
        var connection = session.Connection;
        if (await FindAsync(connection, null, id, RowLock.None, ct) is not { } found)
        {
            return NotFound();
        }

        ETags.Set(http, found.Version);
        return TypedResults.Ok(found.Customer);
    }

    public static Task<Results<Ok<CustomerResponse>, ValidationProblem, ProblemHttpResult>> PutAsync(
        Guid id, ReplaceCustomerRequest request, HttpContext http, TenantDatabase database, CancellationToken ct) =>
        UpdateAsync(id, http, database, _ =>
        {
            var errors = new ValidationErrors();
            Rules.Text(errors, "name", request.Name, Rules.NameMax, required: true);
            Rules.Text(errors, "legalName", request.LegalName, Rules.LegalNameMax, required: false);
            Rules.Email(errors, "email", request.Email);
            Rules.Phone(errors, "phone", request.Phone);
            Rules.OneOf(errors, "status", request.Status, Rules.CustomerStatuses, required: false);
            return (new CustomerFields(request.Name!, request.LegalName, request.Email!, request.Phone, request.Status ?? "active"), errors);
        }, ct);

    public static Task<Results<Ok<CustomerResponse>, ValidationProblem, ProblemHttpResult>> PatchAsync(
        Guid id, PatchCustomerRequest request, HttpContext http, TenantDatabase database, CancellationToken ct) =>
        UpdateAsync(id, http, database, current =>
        {
            var errors = new ValidationErrors();
            var fields = new CustomerFields(current.Name, current.LegalName, current.Email, current.Phone, current.Status);
            if (Patch.IsPresent(request.Name) && Patch.TryString(errors, "name", request.Name, out var name))
            {
                Rules.Text(errors, "name", name, Rules.NameMax, required: true);
                fields = fields with { Name = name ?? fields.Name };
            }

            if (Patch.IsPresent(request.LegalName) && Patch.TryString(errors, "legalName", request.LegalName, out var legalName))
            {
                Rules.Text(errors, "legalName", legalName, Rules.LegalNameMax, required: false);
                fields = fields with { LegalName = legalName };
            }

            if (Patch.IsPresent(request.Email) && Patch.TryString(errors, "email", request.Email, out var email))
            {
                Rules.Email(errors, "email", email);
                fields = fields with { Email = email ?? fields.Email };
            }

            if (Patch.IsPresent(request.Phone) && Patch.TryString(errors, "phone", request.Phone, out var phone))
            {
                Rules.Phone(errors, "phone", phone);
                fields = fields with { Phone = phone };
            }

            if (Patch.IsPresent(request.Status) && Patch.TryString(errors, "status", request.Status, out var status))
            {
                Rules.OneOf(errors, "status", status, Rules.CustomerStatuses, required: true);
                fields = fields with { Status = status ?? fields.Status };
            }

            return (fields, errors);
        }, ct);

    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(
        Guid id, HttpContext http, TenantDatabase database, InProcessEvents events, CancellationToken ct)
    {
        await using var work = await TenantTransaction.BeginAsync(http, database, ct);
        if (await FindAsync(work.Connection, work.Transaction, id, RowLock.ForDelete, ct) is not { } found)
        {
            return NotFound();
        }

        if (!ETags.IfMatchAllows(http, found.Version))
        {
            return Problems.PreconditionFailed();
        }

        var projectIds = new List<Guid>();
        await using (var projects = work.Command("SELECT id FROM projects WHERE customer_id = $1 ORDER BY id FOR UPDATE"))
        {
            projects.With(id);
            await using var reader = await projects.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                projectIds.Add(reader.GetGuid(0));
            }
        }

        // In the deleting transaction, before the rows go: what other modules keep about these projects goes with them.
        await events.PublishAsync(new ProjectsDeleted(projectIds), work.Transaction, ct);

        // Projects, warehouses and assignments follow by ON DELETE CASCADE, each row audited by its trigger.
        await using (var delete = work.Command("DELETE FROM customers WHERE id = $1"))
        {
            delete.With(id);
            await delete.ExecuteNonQueryAsync(ct);
        }

        await work.CommitAsync(ct);
        return TypedResults.NoContent();
    }

    private static async Task<Results<Ok<CustomerResponse>, ValidationProblem, ProblemHttpResult>> UpdateAsync(
        Guid id, HttpContext http, TenantDatabase database, Func<CustomerResponse, (CustomerFields Fields, ValidationErrors Errors)> apply, CancellationToken ct)
    {
        await using var work = await TenantTransaction.BeginAsync(http, database, ct);
        if (await FindAsync(work.Connection, work.Transaction, id, RowLock.ForChange, ct) is not { } found)
        {
            return NotFound();
        }

        if (!ETags.IfMatchAllows(http, found.Version))
        {
            return Problems.PreconditionFailed();
        }

        var current = found.Customer;
        var (fields, errors) = apply(current);
        if (errors.Any)
        {
            return Problems.Validation(errors);
        }

        if (fields == new CustomerFields(current.Name, current.LegalName, current.Email, current.Phone, current.Status))
        {
            ETags.Set(http, found.Version);
            return TypedResults.Ok(current); // nothing to change: no write, no audit record, same ETag
        }

        (CustomerResponse Customer, uint Version) updated;
        try
        {
            await using var update = work.Command(
                $"""
                UPDATE customers SET name = $2, legal_name = $3, email = $4, phone = $5, status = $6, updated_at = now()
                WHERE id = $1
                RETURNING {CustomerRow.Columns}
                """);
            update.With(id).With(fields.Name).With(fields.LegalName).With(fields.Email).With(fields.Phone).With(fields.Status);
            await using var reader = await update.ExecuteReaderAsync(ct);
            await reader.ReadAsync(ct);
            updated = CustomerRow.Read(reader);
        }
        catch (PostgresException e) when (e.IsUniqueViolation(CustomerRow.EmailTaken))
        {
            return Problems.Conflict("customer-email-taken", CustomerRow.EmailTakenDetail(fields.Email));
        }

        await work.CommitAsync(ct);
        ETags.Set(http, updated.Version);
        return TypedResults.Ok(updated.Customer);
    }

    internal static async Task<(CustomerResponse Customer, uint Version)?> FindAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, Guid id, RowLock rowLock, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(
            $"SELECT {CustomerRow.Columns} FROM customers WHERE id = $1{rowLock.Clause()}", connection, transaction);
        command.With(id);
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? CustomerRow.Read(reader) : null;
    }

    private static ProblemHttpResult NotFound() => Problems.NotFound("No customer with that id.");
}
