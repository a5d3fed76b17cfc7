using Monolith.Customers.Common;
using Monolith.Customers.Data;
using Monolith.SharedKernel.Validation;

namespace Monolith.Customers.CreateWarehouse;

internal sealed record CreateWarehouseRequest(string? Name, string? Address, string? Country, int? Capacity)
{
    /// <summary>The warehouse to insert, or the validation errors.</summary>
    public (Warehouse? Warehouse, ValidationErrors Errors) ToWarehouse(Guid customerId)
    {
        var errors = new ValidationErrors();
        Rules.Text(errors, "name", Name, Rules.NameMax, required: true);
        Rules.Text(errors, "address", Address, Rules.AddressMax, required: true, multiline: true);
        var country = Rules.Country(errors, "country", Country);
        Rules.Capacity(errors, "capacity", Capacity);
        return errors.Any
            ? (null, errors)
            : (new Warehouse { Id = Guid.CreateVersion7(), CustomerId = customerId, Name = Name!, Address = Address!, Country = country!, Capacity = Capacity!.Value }, errors);
    }
}
