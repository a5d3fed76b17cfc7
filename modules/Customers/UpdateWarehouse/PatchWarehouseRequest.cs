using System.Text.Json;
using Monolith.Customers.Common;
using Monolith.Customers.Data;
using Monolith.SharedKernel.Validation;

namespace Monolith.Customers.UpdateWarehouse;

/// <summary>JSON merge patch (RFC 7396) of a warehouse's editable fields.</summary>
internal sealed record PatchWarehouseRequest(JsonElement Name, JsonElement Address, JsonElement Country, JsonElement Capacity)
{
    public ValidationErrors ApplyTo(Warehouse warehouse)
    {
        var errors = new ValidationErrors();
        if (Patch.IsPresent(Name) && Patch.TryString(errors, "name", Name, out var name))
        {
            Rules.Text(errors, "name", name, Rules.NameMax, required: true);
            warehouse.Name = name ?? warehouse.Name;
        }

        if (Patch.IsPresent(Address) && Patch.TryString(errors, "address", Address, out var address))
        {
            Rules.Text(errors, "address", address, Rules.AddressMax, required: true, multiline: true);
            warehouse.Address = address ?? warehouse.Address;
        }

        if (Patch.IsPresent(Country) && Patch.TryString(errors, "country", Country, out var country))
        {
            warehouse.Country = Rules.Country(errors, "country", country) ?? warehouse.Country;
        }

        if (Patch.IsPresent(Capacity) && Patch.TryInt(errors, "capacity", Capacity, out var capacity))
        {
            Rules.Capacity(errors, "capacity", capacity);
            warehouse.Capacity = capacity ?? warehouse.Capacity;
        }

        return errors;
    }
}
