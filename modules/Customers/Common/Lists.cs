using Microsoft.AspNetCore.Http;
using Monolith.SharedKernel.Paging;
using Monolith.SharedKernel.Validation;

namespace Monolith.Customers.Common;

/// <summary>The position of a list ordered by id (UUID v7: creation order): the last id served.</summary>
internal sealed record IdCursor(Guid After);

internal static class Lists
{
    /// <summary>limit and cursor for a list ordered by id.</summary>
    public static (PageRequest Page, Guid? After) IdPage(HttpContext http, ValidationErrors errors)
    {
        var page = PageRequest.Parse(http.Request.Query["limit"].ToString() is { Length: > 0 } l ? l : null, http.Request.Query["cursor"], errors);
        Guid? after = null;
        if (page.Cursor is not null)
        {
            if (Cursor.TryDecode<IdCursor>(page.Cursor, out var position))
            {
                after = position!.After;
            }
            else
            {
                errors.Add("cursor", Cursor.InvalidMessage);
            }
        }

        return (page, after);
    }
}
