token=
ref={{ref}}&variables[SHA]={{after}}