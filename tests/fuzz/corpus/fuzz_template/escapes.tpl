a "quoted" \ name	
{{actor}} {{ short_ref }} {{seq}}/{{attempt}}