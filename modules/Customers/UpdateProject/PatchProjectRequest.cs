using System.Text.Json;
using Monolith.Customers.Common;
using Monolith.Customers.Data;
using Monolith.SharedKernel.Validation;

namespace Monolith.Customers.UpdateProject;

/// <summary>JSON merge patch (RFC 7396) of a project's editable fields.</summary>
internal sealed record PatchProjectRequest(JsonElement Name, JsonElement Code, JsonElement Status)
{
    public ValidationErrors ApplyTo(Project project)
    {
        var errors = new ValidationErrors();
        if (Patch.IsPresent(Name) && Patch.TryString(errors, "name", Name, out var name))
        {
            Rules.Text(errors, "name", name, Rules.NameMax, required: true);
            project.Name = name ?? project.Name;
        }

        if (Patch.IsPresent(Code) && Patch.TryString(errors, "code", Code, out var code))
        {
            Rules.Text(errors, "code", code, Rules.CodeMax, required: false);
            project.Code = code;
        }

        if (Patch.IsPresent(Status) && Patch.TryString(errors, "status", Status, out var status))
        {
            Rules.OneOf(errors, "status", status, Rules.ProjectStatuses, required: true);
            project.Status = status ?? project.Status;
        }

        return errors;
    }
}
