
{{nope}}