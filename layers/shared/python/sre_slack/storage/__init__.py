"""The only package that touches DynamoDB."""
