namespace Monolith.Customers.Data;

/// <summary>A row of <c>customers</c> (tenant script 0004). <see cref="Version"/> is PostgreSQL's xmin: the ETag.</summary>
internal sealed class Customer
{
    public Guid Id { get; set; }

    public required string Name { get; set; }

    public string? LegalName { get; set; }

    public required string Email { get; set; }

    public string? Phone { get; set; }

    public required string Status { get; set; }

    public DateTime CreatedAt { get; set; }

    public DateTime UpdatedAt { get; set; }

    public uint Version { get; set; }
}
