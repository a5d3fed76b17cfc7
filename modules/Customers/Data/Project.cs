namespace Monolith.Customers.Data;

/// <summary>A row of <c>projects</c>. <see cref="Version"/> is PostgreSQL's xmin: the ETag.</summary>
internal sealed class Project
{
    public Guid Id { get; set; }

    public Guid CustomerId { get; set; }

    public required string Name { get; set; }

    public string? Code { get; set; }

    public required string Status { get; set; }

    public DateTime CreatedAt { get; set; }

    public DateTime UpdatedAt { get; set; }

    public uint Version { get; set; }
}
