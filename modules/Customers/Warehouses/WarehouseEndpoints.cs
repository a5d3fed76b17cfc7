using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Monolith.Customers.Common;
using Monolith.SharedKernel.Http;
using Monolith.SharedKernel.Paging;
using Monolith.SharedKernel.Validation;
using Monolith.Tenancy.Idempotency;
using Monolith.Tenancy.Isolation;
using Npgsql;

namespace Monolith.Customers.Warehouses;

internal sealed record NewWarehouseRequest(string? Name, string? Address, string? Country, int? Capacity);

internal sealed record PatchWarehouseRequest(JsonElement Name, JsonElement Address, JsonElement Country, JsonElement Capacity);

internal sealed record WarehouseResponse(
    Guid Id, Guid CustomerId, string Name, string Address, string Country, int Capacity, DateTime CreatedAt, DateTime UpdatedAt);

internal static class WarehouseStore
{
    public const string Columns = "id, customer_id, name, address, country, capacity, created_at, updated_at, xmin";

    public static (WarehouseResponse Warehouse, uint Version) Read(NpgsqlDataReader reader, int offset = 0) =>
        (new WarehouseResponse(
            reader.GetGuid(offset),
            reader.GetGuid(offset + 1),
            reader.GetString(offset + 2),
            reader.GetString(offset + 3),
            reader.GetString(offset + 4),
            reader.GetInt32(offset + 5),
            reader.GetDateTime(offset + 6),
            reader.GetDateTime(offset + 7)),
         reader.GetFieldValue<uint>(offset + 8));

    public static async Task<(WarehouseResponse Warehouse, uint Version)?> FindAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, Guid id, RowLock rowLock, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand($"SELECT {Columns} FROM warehouses WHERE id = $1{rowLock.Clause()}", connection, transaction);
        command.With(id);
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? Read(reader) : null;
    }
}

/// <summary>GET/POST /customers/{id}/warehouses, GET/PATCH/DELETE /warehouses/{id}.</summary>
internal static class WarehouseEndpoints
{
    public static async Task<Results<Ok<Page<WarehouseResponse>>, ValidationProblem, ProblemHttpResult>> ListAsync(
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
        var rows = await Lists.ReadChildRowsAsync(connection, ListSql(after is not null), customerId, page, after, reader => WarehouseStore.Read(reader).Warehouse, ct);

        if (rows.Count == 0 && !await Projects.ProjectEndpoints.CustomerExistsAsync(connection, customerId, ct))
        {
            return Problems.NotFound("No customer with that id.");
        }

        return TypedResults.Ok(page.ToPage(rows, w => new IdCursor(w.Id)));
    }

    internal static string ListSql(bool afterCursor) =>
        $"SELECT {WarehouseStore.Columns} FROM warehouses WHERE customer_id = $1{(afterCursor ? " AND id > $3" : "")} ORDER BY id LIMIT $2";

    public static async Task<Results<Created<WarehouseResponse>, ValidationProblem, ProblemHttpResult>> CreateAsync(
        Guid customerId, NewWarehouseRequest request, HttpContext http, TenantDatabase database, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        Rules.Text(errors, "name", request.Name, Rules.NameMax, required: true);
        Rules.Text(errors, "address", request.Address, Rules.AddressMax, required: true, multiline: true);
        var country = Rules.Country(errors, "country", request.Country);
        Rules.Capacity(errors, "capacity", request.Capacity);
        if (errors.Any)
        {
            return Problems.Validation(errors);
        }

        await using var work = await TenantTransaction.BeginAsync(http, database, ct);
        (WarehouseResponse Warehouse, uint Version) created;
        try
        {
            await using var insert = work.Command(
                $"INSERT INTO warehouses (id, customer_id, name, address, country, capacity) VALUES ($1, $2, $3, $4, $5, $6) RETURNING {WarehouseStore.Columns}");
            insert.With(Guid.CreateVersion7()).With(customerId).With(request.Name).With(request.Address).With(country).With(request.Capacity!.Value);
            await using var reader = await insert.ExecuteReaderAsync(ct);
            await reader.ReadAsync(ct);
            created = WarehouseStore.Read(reader);
        }
        catch (PostgresException e) when (e.IsForeignKeyViolation())
        {
            return Problems.NotFound("No customer with that id.");
        }

        await work.CommitAsync(ct);
        ETags.Set(http, created.Version);
        return TypedResults.Created($"/warehouses/{created.Warehouse.Id}", created.Warehouse);
    }

    public static async Task<Results<Ok<WarehouseResponse>, ProblemHttpResult>> GetAsync(
        Guid id, HttpContext http, TenantDatabase database, CancellationToken ct)
    {
        await using var session = await database.BeginAsync(ct);
        var connection = session.Connection;
        if (await WarehouseStore.FindAsync(connection, null, id, RowLock.None, ct) is not { } found)
        {
            return NotFound();
        }

        ETags.Set(http, found.Version);
        return TypedResults.Ok(found.Warehouse);
    }

    public static async Task<Results<Ok<WarehouseResponse>, ValidationProblem, ProblemHttpResult>> PatchAsync(
        Guid id, PatchWarehouseRequest request, HttpContext http, TenantDatabase database, CancellationToken ct)
    {
        await using var work = await TenantTransaction.BeginAsync(http, database, ct);
        if (await WarehouseStore.FindAsync(work.Connection, work.Transaction, id, RowLock.ForChange, ct) is not { } found)
        {
            return NotFound();
        }

        if (!ETags.IfMatchAllows(http, found.Version))
        {
            return Problems.PreconditionFailed();
        }

        var current = found.Warehouse;
        var next = current;
        var errors = new ValidationErrors();
        if (Patch.IsPresent(request.Name) && Patch.TryString(errors, "name", request.Name, out var name))
        {
            Rules.Text(errors, "name", name, Rules.NameMax, required: true);
            next = next with { Name = name ?? next.Name };
        }

        if (Patch.IsPresent(request.Address) && Patch.TryString(errors, "address", request.Address, out var address))
        {
            Rules.Text(errors, "address", address, Rules.AddressMax, required: true, multiline: true);
            next = next with { Address = address ?? next.Address };
        }

        if (Patch.IsPresent(request.Country) && Patch.TryString(errors, "country", request.Country, out var country))
        {
            next = next with { Country = Rules.Country(errors, "country", country) ?? next.Country };
        }

        if (Patch.IsPresent(request.Capacity) && Patch.TryInt(errors, "capacity", request.Capacity, out var capacity))
        {
            Rules.Capacity(errors, "capacity", capacity);
            next = next with { Capacity = capacity ?? next.Capacity };
        }

        if (errors.Any)
        {
            return Problems.Validation(errors);
        }

        if (next == current)
        {
            ETags.Set(http, found.Version);
            return TypedResults.Ok(current);
        }

        (WarehouseResponse Warehouse, uint Version) updated;
        await using (var update = work.Command(
            $"UPDATE warehouses SET name = $2, address = $3, country = $4, capacity = $5, updated_at = now() WHERE id = $1 RETURNING {WarehouseStore.Columns}"))
        {
            update.With(id).With(next.Name).With(next.Address).With(next.Country).With(next.Capacity);
            await using var reader = await update.ExecuteReaderAsync(ct);
            await reader.ReadAsync(ct);
            updated = WarehouseStore.Read(reader);
        }

        await work.CommitAsync(ct);
        ETags.Set(http, updated.Version);
        return TypedResults.Ok(updated.Warehouse);
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(
        Guid id, HttpContext http, TenantDatabase database, CancellationToken ct)
    {
        await using var work = await TenantTransaction.BeginAsync(http, database, ct);
        if (await WarehouseStore.FindAsync(work.Connection, work.Transaction, id, RowLock.ForDelete, ct) is not { } found)
        {
            return NotFound();
        }

        if (!ETags.IfMatchAllows(http, found.Version))
        {
            return Problems.PreconditionFailed();
        }

        await using (var delete = work.Command("DELETE FROM warehouses WHERE id = $1"))
        {
            delete.With(id);
            await delete.ExecuteNonQueryAsync(ct);
        }

        await work.CommitAsync(ct);
        return TypedResults.NoContent();
    }

    private static ProblemHttpResult NotFound() => Problems.NotFound("No warehouse with that id.");
}
