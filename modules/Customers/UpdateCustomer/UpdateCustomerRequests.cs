using System.Text.Json;
using Monolith.Customers.Common;
using Monolith.Customers.Data;
using Monolith.SharedKernel.Validation;

namespace Monolith.Customers.UpdateCustomer;

/// <summary>PUT replaces the editable fields: an absent optional field is cleared, an absent status is "active".</summary>
internal sealed record ReplaceCustomerRequest(string? Name, string? LegalName, string? Email, string? Phone, string? Status)
{
    public ValidationErrors ApplyTo(Customer customer)
    {
        var errors = new ValidationErrors();
        Rules.Text(errors, "name", Name, Rules.NameMax, required: true);
        Rules.Text(errors, "legalName", LegalName, Rules.LegalNameMax, required: false);
        Rules.Email(errors, "email", Email);
        Rules.Phone(errors, "phone", Phone);
        Rules.OneOf(errors, "status", Status, Rules.CustomerStatuses, required: false);
        if (!errors.Any)
        {
            customer.Name = Name!;
            customer.LegalName = LegalName;
            customer.Email = Email!;
            customer.Phone = Phone;
            customer.Status = Status ?? "active";
        }

        return errors;
    }
}

/// <summary>JSON merge patch (RFC 7396) of the editable fields.</summary>
internal sealed record PatchCustomerRequest(JsonElement Name, JsonElement LegalName, JsonElement Email, JsonElement Phone, JsonElement Status)
{
    public ValidationErrors ApplyTo(Customer customer)
    {
        var errors = new ValidationErrors();
        if (Patch.IsPresent(Name) && Patch.TryString(errors, "name", Name, out var name))
        {
            Rules.Text(errors, "name", name, Rules.NameMax, required: true);
            customer.Name = name ?? customer.Name;
        }

        if (Patch.IsPresent(LegalName) && Patch.TryString(errors, "legalName", LegalName, out var legalName))
        {
            Rules.Text(errors, "legalName", legalName, Rules.LegalNameMax, required: false);
            customer.LegalName = legalName;
        }

        if (Patch.IsPresent(Email) && Patch.TryString(errors, "email", Email, out var email))
        {
            Rules.Email(errors, "email", email);
            customer.Email = email ?? customer.Email;
        }

        if (Patch.IsPresent(Phone) && Patch.TryString(errors, "phone", Phone, out var phone))
        {
            Rules.Phone(errors, "phone", phone);
            customer.Phone = phone;
        }

        if (Patch.IsPresent(Status) && Patch.TryString(errors, "status", Status, out var status))
        {
            Rules.OneOf(errors, "status", status, Rules.CustomerStatuses, required: true);
            customer.Status = status ?? customer.Status;
        }

        return errors;
    }
}
